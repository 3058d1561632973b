import type { MethodHandler } from '../context.js';
import { transfer } from '../transfer.js';

/** MOVE (RFC 4918 §9.9). */
export const move: MethodHandler = (req) => transfer(req, 'move');

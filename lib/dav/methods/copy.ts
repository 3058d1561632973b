import type { MethodHandler } from '../context.js';
import { transfer } from '../transfer.js';

/** COPY (RFC 4918 §9.8). */
export const copy: MethodHandler = (req) => transfer(req, 'copy');

import type { MethodHandler } from '../context.js';
import { serve } from './get.js';

/** HEAD: GET's headers, no body. */
export const head: MethodHandler = (req) => serve(req, true);

/**
 * Runs in a worker thread of the password checker's pool (piscina): one password against one
 * stored hash. bcrypt in pure JS costs ~70-100 ms of CPU a check; here it costs no event-loop time.
 */
import { verifyPassword } from './htpasswd.js';

export interface HashTask {
  password: string;
  hash: string;
}

export default function check(task: HashTask): Promise<boolean> {
  return verifyPassword(task.password, task.hash);
}

/**
 * CommonJS packages (koa, saxes, ipaddr.js, piscina, prom-client) are loaded with
 * `require`, not `import`. In Node 20 the first `import` of a CommonJS module, static or dynamic,
 * starts cjs-module-lexer, which Node builds from WebAssembly to find the module's named exports:
 * the wasm compiler's code and memory stay in the process, 6–10 MB of RSS in every process
 * (measured: docs/bench.md, issue 13 round 4, "Idle memory"). `require` runs the module the same
 * way and returns the same `module.exports` (a package's ESM wrapper, if anything imports it, shares
 * the instance), so only the loading path changes. Packages that are ES modules (ical.js,
 * structured-headers, bcryptjs) are imported as usual.
 *
 * Callers write `requireCjs('name') as typeof import('name')`: the type comes from the package's
 * declarations, and TypeScript emits no import for a type.
 */
import { createRequire } from 'node:module';

export const requireCjs: NodeJS.Require = createRequire(import.meta.url);

/**
 * A real crash for the flight recorder's test, from outside gitdav: loaded into a server process by
 * Node itself (`NODE_OPTIONS=--import=…/crash-hook.js`), never by anything in lib/ or a config, so
 * no configuration can turn it on. On SIGWINCH it throws, on the event loop, an exception nobody
 * catches: what a bug in a callback does.
 */
process.on('SIGWINCH', () => {
  setImmediate(() => {
    throw new Error('crash-hook: a crash the test asked for');
  });
});

export {};

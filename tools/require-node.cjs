// Run first by every npm script: mesh-kit needs Node.js 22.12 or later. Plain CommonJS with nothing
// newer than ES5 in it, so that any Node.js can run it and say so, instead of failing later with a
// misleading error (on Node 20, `npm test` ended in "Could not find …/*.test.js").
'use strict';

// 22.12 is the first Node.js 22 that require()s an ES module without a flag, which the admission
// pass does to load the CEL library and kubernetes-models' validators only when it needs them.
var REQUIRED_MAJOR = 22;
var REQUIRED_MINOR = 12;

/** The message for a Node.js version string such as "v20.19.1", or null when it is recent enough. */
function problem(version) {
  var match = /^v?(\d+)\.(\d+)\./.exec(version);
  var major = match ? Number(match[1]) : NaN;
  var minor = match ? Number(match[2]) : NaN;
  if (major > REQUIRED_MAJOR || (major === REQUIRED_MAJOR && minor >= REQUIRED_MINOR)) return null;
  return (
    'mesh-kit needs Node.js ' +
    REQUIRED_MAJOR +
    '.' +
    REQUIRED_MINOR +
    ' or later (found ' +
    version +
    '); install Node.js 24 LTS (https://nodejs.org/) and run the command again'
  );
}

module.exports = { problem: problem, REQUIRED_MAJOR: REQUIRED_MAJOR, REQUIRED_MINOR: REQUIRED_MINOR };

if (require.main === module) {
  var message = problem(process.version);
  if (message) {
    process.stderr.write(message + '\n');
    process.exit(1);
  }
}

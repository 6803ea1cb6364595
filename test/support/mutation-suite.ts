// The construct suites in one process, for `npm run mutation`: Stryker's tap runner starts a
// process per test file and mutant, and loading cdk8s and the generated Istio classes once instead
// of once per suite is what makes a run over the constructs fit in an hour on two cores. The
// focused, fast suites come first, so that most mutants fail early (the runner stops at the first
// failing test). Not a *.test file itself: `npm test` runs each suite on its own.
import '../yaml-writer-exact.test.js';
import '../boundaries.test.js';
import '../validation.test.js';
import '../modes.test.js';
import '../routing.test.js';
import '../microservice.test.js';
import '../security.test.js';
import '../ambient.test.js';
import '../rate-limit.test.js';
import '../global-rate-limit.test.js';
import '../ingress.test.js';
import '../yaml-writer.test.js';
import '../shop.test.js';
import '../bookinfo.test.js';

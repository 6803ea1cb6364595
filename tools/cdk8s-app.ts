/**
 * The app `cdk8s synth` runs (see cdk8s.yaml): every sample app in its default variant, one YAML
 * file per chart in CDK8S_OUTDIR. `npm run synth` covers every variant.
 */
import { App } from 'cdk8s';
import { APPS } from '../charts/index.js';
import { renderObjects } from '../constructs/render.js';

const app = new App();
for (const sample of APPS.apps) sample.build(app, sample.defaultVariant);
// cdk8s writes as it renders: the construct validation and the admission pass run first, so a
// failing app writes nothing.
renderObjects(app);
app.synth();

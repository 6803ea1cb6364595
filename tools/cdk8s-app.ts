/**
 * The app `cdk8s synth` runs (see cdk8s.yaml): every sample app in its default variant, one YAML
 * file per chart in CDK8S_OUTDIR. `npm run synth` covers every variant.
 */
import { App } from 'cdk8s';
import { SAMPLE_APPS } from '../charts/index.js';

const app = new App();
for (const sample of SAMPLE_APPS) sample.build(app, sample.defaultVariant);
app.synth();

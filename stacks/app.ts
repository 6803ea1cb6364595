/**
 * The shop, from the same cdk8s chart `npm run synth` writes (charts/shop.ts), synthesized in-process
 * with the images the stack built and handed to Pulumi as plain objects: the Namespace first (its own
 * ConfigGroup), then everything in it, after the mesh (CRDs, webhooks, gateway) and the add-ons.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { App } from 'cdk8s';
import type { EnvironmentName } from './config.js';
import { ShopChart, type ShopService } from '../charts/shop.js';
import { renderObjects } from '../constructs/render.js';

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [k: string]: unknown };
  readonly [k: string]: unknown;
}

/**
 * The shop's objects for an environment, validated and rendered by the same code as `npm run synth`
 * (constructs/render.ts: every problem of every construct at once; objects in dependency order), as
 * plain JSON objects.
 */
export function shopManifests(
  environment: EnvironmentName,
  images: Partial<Record<ShopService, string>> = {},
): KubeObject[] {
  const app = new App();
  new ShopChart(app, 'shop', { environment, images });
  return renderObjects(app);
}

export interface ShopAppArgs {
  readonly environment: EnvironmentName;
  /** Image reference per service (built by the stack). */
  readonly images: pulumi.Input<Partial<Record<ShopService, pulumi.Input<string>>>>;
}

/** The shop's Kubernetes objects as two ConfigGroups: namespaces, then the rest. */
export class ShopApp extends pulumi.ComponentResource {
  /** All objects, as given to the ConfigGroups. */
  public readonly objects: pulumi.Output<KubeObject[]>;
  public readonly namespaces: k8s.yaml.v2.ConfigGroup;
  public readonly resources: k8s.yaml.v2.ConfigGroup;
  /** The namespace the shop runs in. */
  public readonly namespace: pulumi.Output<string>;

  constructor(name: string, args: ShopAppArgs, opts?: pulumi.ComponentResourceOptions) {
    super('meshkit:app:Shop', name, {}, opts);
    const objects = pulumi
      .output(args.images)
      .apply((images) => shopManifests(args.environment, images as Partial<Record<ShopService, string>>));
    const isNamespace = (o: KubeObject) => o.apiVersion === 'v1' && o.kind === 'Namespace';
    this.objects = objects;
    this.namespaces = new k8s.yaml.v2.ConfigGroup(
      `${name}-namespaces`,
      { objs: objects.apply((all) => all.filter(isNamespace)) },
      // Children do not inherit the component's dependsOn: the mesh and add-ons come first.
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.resources = new k8s.yaml.v2.ConfigGroup(
      `${name}-resources`,
      { objs: objects.apply((all) => all.filter((o) => !isNamespace(o))) },
      { parent: this, dependsOn: [this.namespaces] },
    );
    this.namespace = objects.apply((all) => all.find(isNamespace)?.metadata.name ?? '');
    this.registerOutputs({ namespace: this.namespace });
  }
}

/**
 * The Pulumi program (Pulumi.yaml `main` points at its compiled form, lib/stacks/index.js): reads the
 * stack's configuration and declares the stack. Its exports are the stack outputs.
 */
import { readStackConfig } from './config.js';
import { createStack } from './program.js';

const stack = createStack(readStackConfig());

/** Where the first app of `mesh-kit:apps` answers (on cloud, point the host's DNS at `ingressAddress`). */
export const ingressUrl = stack.ingressUrl;
/** Where each app answers, by app. */
export const ingressUrls = stack.ingressUrls;
/** The gateway load balancer's host name or address (cloud stacks). */
export const ingressAddress = stack.ingressAddress;
/** The cluster's kubeconfig, a secret: `pulumi stack output kubeconfig --show-secrets`. */
export const kubeconfig = stack.kubeconfig;
/** The image each workload runs, by app and image key. */
export const images = stack.images;
/** The apps: variant, namespaces, hosts. */
export const apps = stack.appSummaries;
/** Add-on UIs and how to open them. */
export const addons = stack.addons;
export const environment = stack.environment;

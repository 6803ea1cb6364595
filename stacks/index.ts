/**
 * The Pulumi program (Pulumi.yaml `main` points at its compiled form, lib/stacks/index.js): reads the
 * stack's configuration and declares the stack. Its exports are the stack outputs.
 */
import { readStackConfig } from './config.js';
import { createStack } from './program.js';

const stack = createStack(readStackConfig());

/** The storefront's URL (on cloud, point the host's DNS at `ingressAddress`). */
export const ingressUrl = stack.ingressUrl;
/** The gateway load balancer's host name or address (cloud stacks). */
export const ingressAddress = stack.ingressAddress;
/** The cluster's kubeconfig, a secret: `pulumi stack output kubeconfig --show-secrets`. */
export const kubeconfig = stack.kubeconfig;
/** The image each service runs. */
export const images = stack.images;
/** Add-on UIs and how to open them. */
export const addons = stack.addons;
export const environment = stack.environment;

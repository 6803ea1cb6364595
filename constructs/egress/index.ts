export { OutboundTrafficPolicy } from './outbound-traffic-policy.js';
export * from './egress-gateway.js';
export * from './values.js';
export { ExternalService, type ExternalResolution, type ExternalServiceProps } from './external-service.js';

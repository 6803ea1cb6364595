export { OutboundTrafficPolicy } from './outbound-traffic-policy.js';
export * from './egress-gateway.js';
export {
  ExternalPort,
  type ExternalPortOptions,
  ExternalProtocol,
  type ExternalResolution,
  ExternalService,
  type ExternalServiceProps,
  ExternalTls,
  type OriginateTlsOptions,
} from './external-service.js';

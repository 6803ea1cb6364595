import { checkInput } from '../input.js';
import type { Problems } from '../validation.js';

/** The protocols an ExternalPort declares, as ServiceEntry spells them. */
export enum ExternalProtocol {
  HTTP = 'HTTP',
  HTTPS = 'HTTPS',
  TCP = 'TCP',
}

/**
 * The port-name prefixes Istio reads a protocol from (protocol selection); a name must not claim
 * another's. A name is read up to its first "-", so "grpc-web" is claimed as "grpc".
 */
const PROTOCOL_PREFIXES = ['http', 'https', 'http2', 'grpc', 'tcp', 'tls', 'mongo', 'mysql', 'redis', 'udp'];

export interface ExternalPortOptions {
  /**
   * The port's name in the ServiceEntry.
   * @default "<protocol>-<port>", e.g. "https-443"
   */
  readonly name?: string;
}

/** A port of an external service, with its protocol, so Istio never has to sniff it. */
export class ExternalPort {
  /** TLS from the application, which the proxies pass through by SNI. */
  public static https(port = 443, options: ExternalPortOptions = {}): ExternalPort {
    checkInput.externalPort('https', port, options);
    return new ExternalPort(ExternalProtocol.HTTPS, port, options.name ?? `https-${port}`);
  }
  /** Plain HTTP, which the proxies see and can route and authorize by method and path. */
  public static http(port = 80, options: ExternalPortOptions = {}): ExternalPort {
    checkInput.externalPort('http', port, options);
    return new ExternalPort(ExternalProtocol.HTTP, port, options.name ?? `http-${port}`);
  }
  /** Opaque TCP (a database, a broker). */
  public static tcp(port: number, options: ExternalPortOptions = {}): ExternalPort {
    checkInput.externalPort('tcp', port, options);
    return new ExternalPort(ExternalProtocol.TCP, port, options.name ?? `tcp-${port}`);
  }

  private constructor(
    public readonly protocol: ExternalProtocol,
    public readonly port: number,
    public readonly name: string,
  ) {}

  /** @internal */
  public _validate(p: Problems, field: string): void {
    p.port(`${field}.port`, this.port);
    // Istio's ServiceEntry validation takes port names as DNS labels (ValidatePortName).
    p.dnsLabel(`${field}.name`, this.name);
    const prefix = this.name.split('-')[0];
    const own = this.protocol.toLowerCase();
    if (PROTOCOL_PREFIXES.includes(prefix) && prefix !== own) {
      p.add(
        `${field}.name`,
        `"${this.name}" names the protocol "${prefix}", but the port is ${this.protocol}`,
        `name it "${own}-${this.port}", or use the factory of the protocol it speaks`,
      );
    }
  }
}

export interface OriginateTlsOptions {
  /**
   * The server name the proxy sends in the TLS handshake (SNI), and verifies the certificate for.
   * @default the external service's host
   */
  readonly sni?: string;
  /**
   * A file in the proxy with the CA certificates that verify the server's certificate.
   * @default the proxy's OS CA bundle: istiod's VERIFY_CERTIFICATE_AT_CLIENT (added in Istio 1.12, on
   *   by default in current releases) verifies the server's certificate with it when this is unset
   */
  readonly caCertificates?: string;
  /**
   * The plain-HTTP port the application calls; the proxy originates TLS from it to the service's HTTPS port.
   * @default 80
   */
  readonly port?: number;
}

/** How TLS to the external service is handled. */
export class ExternalTls {
  /** The application speaks TLS itself; the proxies route it by SNI without decrypting. */
  public static passthrough(): ExternalTls {
    return new ExternalTls('passthrough', {});
  }
  /**
   * The application speaks plain HTTP to `port` (80), and the proxy (the caller's sidecar, or the
   * egress gateway) originates TLS to the service's HTTPS port, as Istio's "TLS Origination for
   * Egress Traffic" task does (https://istio.io/latest/docs/tasks/traffic-management/egress/egress-tls-origination/).
   * With plain HTTP in the mesh, an egress gateway can authorize by method and path.
   */
  public static originate(options: OriginateTlsOptions = {}): ExternalTls {
    checkInput.externalTls('originate', options);
    return new ExternalTls('originate', { ...options });
  }

  private constructor(
    public readonly mode: 'passthrough' | 'originate',
    /** @internal */ public readonly _options: OriginateTlsOptions,
  ) {}

  /** The plain-HTTP port the application calls, with TLS origination. */
  public get originationPort(): number | undefined {
    return this.mode === 'originate' ? (this._options.port ?? 80) : undefined;
  }
}

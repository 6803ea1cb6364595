import { Construct, type IConstruct } from 'constructs';
import type { Problems } from './validation.js';

/** One claim on a VirtualService host: which construct routes it, and through which gateway. */
interface HostClaim {
  readonly owner: IConstruct;
  /** "mesh" for east-west routing, or "<namespace>/<gateway>" for an ingress gateway. */
  readonly gateway: string;
}

const REGISTRY_ID = 'mesh-registry';

/**
 * What the whole app declares, so that a construct can check itself against the others
 * (two VirtualServices for one host, a call to a service that is not in the app, ...).
 * It lives once at the root of the construct tree and synthesizes nothing.
 */
export class MeshRegistry extends Construct {
  public static of(scope: IConstruct): MeshRegistry {
    const root = scope.node.root;
    return (
      (root.node.tryFindChild(REGISTRY_ID) as MeshRegistry | undefined) ?? new MeshRegistry(root, REGISTRY_ID)
    );
  }

  private readonly namespaces = new Map<string, IConstruct[]>();
  private readonly services = new Map<string, IConstruct[]>();
  private readonly hosts = new Map<string, HostClaim[]>();

  public registerNamespace(ns: IConstruct & { readonly name: string }): void {
    push(this.namespaces, ns.name, ns);
  }

  /** Registers a Service by its fully qualified host name. */
  public registerService(fqdn: string, owner: IConstruct): void {
    push(this.services, fqdn, owner);
  }

  public serviceOwners(fqdn: string): readonly IConstruct[] {
    return this.services.get(fqdn) ?? [];
  }

  /** Reports, on `owner`, every other construct that declares the same Service. */
  public checkUniqueService(fqdn: string, owner: IConstruct, p: Problems): void {
    for (const other of this.serviceOwners(fqdn)) {
      if (other !== owner) {
        p.add(
          'name',
          `service ${fqdn} is also declared by ${other.node.path}`,
          'give each service a unique name in its namespace',
        );
      }
    }
  }

  public namespaceOwners(name: string): readonly IConstruct[] {
    return this.namespaces.get(name) ?? [];
  }

  /** Records that `owner` synthesizes a VirtualService for `host` bound to `gateway`. */
  public claimHost(host: string, gateway: string, owner: IConstruct): void {
    push(this.hosts, `${gateway} ${host}`, { owner, gateway });
  }

  /** The other constructs that route the same host through the same gateway. */
  public rivalsFor(host: string, gateway: string, owner: IConstruct): IConstruct[] {
    return (this.hosts.get(`${gateway} ${host}`) ?? []).map((c) => c.owner).filter((o) => o !== owner);
  }
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

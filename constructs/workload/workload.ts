/**
 * The workload kind a Microservice runs its versions as: a Deployment (stateless, the default) or a
 * StatefulSet (stable pod names and a PersistentVolumeClaim per pod, through a headless Service).
 */
import { type Size, SizeRoundingBehavior } from 'cdk8s';
import { checkInput } from '../input.js';
import type { Problems } from '../validation.js';
import { memoryQuantity, validateSize } from '../values.js';

/** A claim's size as a quantity in the largest exact unit: "10Gi", "1536Mi". */
export function storageQuantity(size: Size): string {
  const gi = size.toGibibytes({ rounding: SizeRoundingBehavior.NONE });
  return Number.isInteger(gi) ? `${gi}Gi` : memoryQuantity(size);
}

/** A PersistentVolumeClaim per pod of a StatefulSet, mounted into the app container. */
export interface VolumeClaim {
  /** The claim template's name (claims are named `<name>-<statefulset>-<ordinal>`), a DNS label. */
  readonly name: string;
  /** Where the volume appears in the app container. */
  readonly mountPath: string;
  /** The size each pod's claim requests. */
  readonly storage: Size;
  /**
   * @default the cluster's default StorageClass
   */
  readonly storageClassName?: string;
  /**
   * @default ["ReadWriteOnce"]
   */
  readonly accessModes?: readonly ('ReadWriteOnce' | 'ReadOnlyMany' | 'ReadWriteMany' | 'ReadWriteOncePod')[];
}

export interface StatefulSetOptions {
  /**
   * Per-pod PersistentVolumeClaims.
   * @default none
   */
  readonly volumeClaims?: readonly VolumeClaim[];
  /**
   * Start and stop pods one at a time in order (`OrderedReady`), or all at once (`Parallel`).
   * @default "OrderedReady"
   */
  readonly podManagementPolicy?: 'OrderedReady' | 'Parallel';
  /**
   * Whether the pods call each other by hostname (replication, leader election): the service then
   * admits its own identity, and its Sidecar reaches its own headless Service.
   * @default true when a version may run more than one pod (replicas or autoscaling), else false:
   * a single pod has no peer, and admitting its own identity would only widen its policy
   */
  readonly peers?: boolean;
}

/** The kind of workload that runs a Microservice's versions. */
export class Workload {
  /** A Deployment per version (the default). */
  public static deployment(): Workload {
    return new Workload('Deployment', {});
  }

  /**
   * A StatefulSet per version, `<name>-<version>`, with the headless Service `<name>-headless` that
   * gives each pod its stable DNS name `<name>-<version>-<ordinal>.<name>-headless.<namespace>.svc.cluster.local`.
   */
  public static statefulSet(options: StatefulSetOptions = {}): Workload {
    checkInput.workloadValue('Workload.statefulSet', { statefulSetOptions: options });
    return new Workload('StatefulSet', options);
  }

  private constructor(
    public readonly kind: 'Deployment' | 'StatefulSet',
    private readonly options: StatefulSetOptions,
  ) {}

  /** The per-pod claims (StatefulSet only). */
  public get volumeClaims(): readonly VolumeClaim[] {
    return this.options.volumeClaims ?? [];
  }

  /**
   * Whether the pods call each other (StatefulSet only), for a service whose versions run at most
   * `pods` pods each: the `peers` option, else whether there can be more than one.
   */
  public peersAt(pods: number): boolean {
    return this.kind === 'StatefulSet' && (this.options.peers ?? pods > 1);
  }

  /** @default "OrderedReady" (StatefulSet only) */
  public get podManagementPolicy(): 'OrderedReady' | 'Parallel' | undefined {
    return this.options.podManagementPolicy;
  }

  /** @internal */
  public _validate(p: Problems, field: string): void {
    const seen = new Set<string>();
    this.volumeClaims.forEach((c, i) => {
      const f = `${field}.volumeClaims[${i}]`;
      p.dnsLabel(`${f}.name`, c.name);
      if (seen.has(c.name))
        p.add(
          `${f}.name`,
          `"${c.name}" is already the name of another claim`,
          'give each claim its own name',
        );
      seen.add(c.name);
      validateSize(`${f}.storage`, c.storage, p, true);
      if (c.storageClassName !== undefined) p.dnsSubdomain(`${f}.storageClassName`, c.storageClassName);
      if (c.accessModes !== undefined && c.accessModes.length === 0) {
        p.add(
          `${f}.accessModes`,
          'is empty, and the API server requires at least one',
          'leave it out for ["ReadWriteOnce"]',
        );
      }
      // The API server refuses ReadWriteOncePod beside any other mode ("may not use ReadWriteOncePod
      // with other access modes", ValidatePersistentVolumeClaimSpec in pkg/apis/core/validation;
      // https://kubernetes.io/docs/concepts/storage/persistent-volumes/#access-modes).
      if (
        c.accessModes !== undefined &&
        c.accessModes.length > 1 &&
        c.accessModes.includes('ReadWriteOncePod')
      ) {
        p.add(
          `${f}.accessModes`,
          'combines ReadWriteOncePod with other modes, which the API server refuses',
          'use ["ReadWriteOncePod"] alone, or the other modes without it',
        );
      }
    });
  }
}

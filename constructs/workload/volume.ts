/**
 * Volumes and where containers mount them, after cdk8s-plus's `Volume` factories. Only the volume
 * types the restricted Pod Security Standard admits are offered (secret, configMap, emptyDir,
 * persistentVolumeClaim; https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted).
 */
import type { Size } from 'cdk8s';
import * as k8s from 'cdk8s-plus-27/lib/imports/k8s.js';
import { checkInput } from '../input.js';
import type { Problems } from '../validation.js';
import { memoryQuantity, validateSize } from '../values.js';
import { validateConfigKey } from './env.js';

/** Options of a Secret or ConfigMap volume. */
export interface ProjectionOptions {
  /**
   * Only these keys, each at a path relative to the mount (`{ "tls.crt": "cert.pem" }`).
   * @default every key, each at a file of its own name
   */
  readonly items?: Record<string, string>;
  /**
   * File mode of the files (octal, e.g. 0o440).
   * @default 0o644 (the API server's)
   */
  readonly defaultMode?: number;
}

/** Options of an emptyDir volume. */
export interface EmptyDirOptions {
  /**
   * Most the volume may hold before the kubelet evicts the pod.
   * @default no limit beyond the node's
   */
  readonly sizeLimit?: Size;
  /**
   * Back it by memory (tmpfs), which counts against the container's memory limit.
   * @default false: node disk
   */
  readonly memory?: boolean;
}

type VolumeSource =
  | { readonly kind: 'secret' | 'configMap'; readonly name: string; readonly options: ProjectionOptions }
  | { readonly kind: 'emptyDir'; readonly options: EmptyDirOptions }
  | { readonly kind: 'persistentVolumeClaim'; readonly name: string };

/** A volume of the pod; mount it with a `Mount`. One Volume mounted twice is one pod volume. */
export class Volume {
  /** The keys of Secret `secretName` as files (mounted read-only by default). */
  public static fromSecret(secretName: string, options: ProjectionOptions = {}): Volume {
    checkInput.workloadValue('Volume.fromSecret', { secretName, projectionOptions: options });
    return new Volume({ kind: 'secret', name: secretName, options });
  }

  /** The keys of ConfigMap `configMapName` as files (mounted read-only by default). */
  public static fromConfigMap(configMapName: string, options: ProjectionOptions = {}): Volume {
    checkInput.workloadValue('Volume.fromConfigMap', { configMapName, projectionOptions: options });
    return new Volume({ kind: 'configMap', name: configMapName, options });
  }

  /** A scratch directory that lives as long as the pod. */
  public static emptyDir(options: EmptyDirOptions = {}): Volume {
    checkInput.workloadValue('Volume.emptyDir', { emptyDirOptions: options });
    return new Volume({ kind: 'emptyDir', options });
  }

  /** An existing PersistentVolumeClaim (for per-pod claims of a StatefulSet, see `Workload.statefulSet`). */
  public static fromPersistentVolumeClaim(claimName: string): Volume {
    checkInput.workloadValue('Volume.fromPersistentVolumeClaim', { claimName });
    return new Volume({ kind: 'persistentVolumeClaim', name: claimName });
  }

  private constructor(private readonly source: VolumeSource) {}

  /** The kind of volume: "secret", "configMap", "emptyDir" or "persistentVolumeClaim". */
  public get kind(): VolumeSource['kind'] {
    return this.source.kind;
  }

  /** Whether a mount of it is read-only unless it says otherwise: Secrets and ConfigMaps are. */
  public get readOnlyByDefault(): boolean {
    return this.source.kind === 'secret' || this.source.kind === 'configMap';
  }

  /** @internal The pod volume's name before de-duplication, e.g. "secret-db-credentials". */
  public get _baseName(): string {
    const s = this.source;
    const prefix = {
      secret: 'secret',
      configMap: 'config',
      emptyDir: 'scratch',
      persistentVolumeClaim: 'pvc',
    }[s.kind];
    if (s.kind === 'emptyDir') return prefix;
    // Object names are DNS subdomains, volume names DNS labels: dots become dashes, and the name is
    // cut to 63 characters (a clash after cutting is settled by a numeric suffix).
    return `${prefix}-${s.name.replace(/\./g, '-')}`.slice(0, 63).replace(/-+$/, '');
  }

  /** @internal Whether two mounts of distinct Volume objects may share one pod volume. */
  public get _shareable(): boolean {
    return this.source.kind !== 'emptyDir';
  }

  /** @internal The volume source, as in a pod's `volumes[]` entry without its name. */
  public _toKube(): Omit<k8s.Volume, 'name'> {
    const s = this.source;
    switch (s.kind) {
      case 'secret':
        return { secret: { secretName: s.name, ...projection(s.options) } };
      case 'configMap':
        return { configMap: { name: s.name, ...projection(s.options) } };
      case 'emptyDir':
        return {
          emptyDir: {
            ...(s.options.memory ? { medium: 'Memory' } : {}),
            ...(s.options.sizeLimit
              ? { sizeLimit: k8s.Quantity.fromString(memoryQuantity(s.options.sizeLimit)) }
              : {}),
          },
        };
      case 'persistentVolumeClaim':
        return { persistentVolumeClaim: { claimName: s.name } };
    }
  }

  /** @internal */
  public _validate(p: Problems, field: string): void {
    const s = this.source;
    if (s.kind === 'emptyDir') {
      validateSize(`${field}.sizeLimit`, s.options.sizeLimit, p);
      return;
    }
    p.dnsSubdomain(`${field}.${s.kind === 'persistentVolumeClaim' ? 'claimName' : `${s.kind}Name`}`, s.name);
    if (s.kind === 'persistentVolumeClaim') return;
    const mode = s.options.defaultMode;
    if (mode !== undefined && (!Number.isInteger(mode) || mode < 0 || mode > 0o777)) {
      p.add(
        `${field}.defaultMode`,
        `${Number.isInteger(mode) && mode >= 0 ? `0o${mode.toString(8)}` : mode} is not a file mode from 0 to 0o777`,
        'use an octal mode, e.g. 0o440',
      );
    }
    // The kubelet projects the items into a map by path (MakePayload in pkg/volume/secret and
    // pkg/volume/configmap): a second key at one path silently replaces the first, and a file
    // where another item needs a directory fails the volume's setup, so the pod never starts.
    const paths = new Map<string, string>();
    for (const [key, path] of Object.entries(s.options.items ?? {})) {
      const at = `${field}.items[${JSON.stringify(key)}]`;
      // A key a Secret or ConfigMap cannot have ("references non-existent config key"): the
      // kubelet cannot set the volume up, and the pod waits in ContainerCreating.
      validateConfigKey(p, at, key);
      if (path.includes('\0')) {
        // The API server takes it; the kubelet writes the file with C-string system calls.
        p.add(
          at,
          `${JSON.stringify(path)} has a NUL character, which no path can hold, so the kubelet cannot write the file and the pod never starts`,
          'remove the "\\0"',
        );
        continue;
      }
      if (path === '' || path.startsWith('/') || path.split('/').includes('..')) {
        p.add(
          at,
          `${JSON.stringify(path)} is not a relative path inside the mount`,
          'use a relative path without "..", e.g. "config.yaml"',
        );
        continue;
      }
      // The kubelet's atomic writer keeps its own "..data" link and "..<timestamp>" directories in
      // the volume, so the API server refuses an item path that starts with ".." ("must not start
      // with '..'", ValidateLocalNonReservedPath in pkg/apis/core/validation/validation.go).
      if (path.startsWith('..')) {
        p.add(
          at,
          `${JSON.stringify(path)} starts with "..", which the API server refuses in an item path: the kubelet keeps its own "..data" files there`,
          'start the path with another character, e.g. "config.yaml"',
        );
        continue;
      }
      const clean = path
        .split('/')
        .filter((part) => part !== '' && part !== '.')
        .join('/');
      for (const [other, otherKey] of paths) {
        if (other === clean) {
          p.add(
            at,
            `"${path}" is also where key ${JSON.stringify(otherKey)} goes, and the kubelet keeps only one of them`,
            'give each key its own path',
          );
        } else if (other.startsWith(`${clean}/`) || clean.startsWith(`${other}/`)) {
          const [file, dir] = other.startsWith(`${clean}/`) ? [clean, other] : [other, clean];
          p.add(
            at,
            `"${file}" would be both a file and the directory of "${dir}" (key ${JSON.stringify(otherKey)}), and the kubelet cannot set the volume up`,
            'put the two keys at paths that do not nest',
          );
        }
      }
      paths.set(clean, key);
    }
  }
}

function projection(o: ProjectionOptions) {
  return {
    ...(o.items ? { items: Object.entries(o.items).map(([key, path]) => ({ key, path })) } : {}),
    ...(o.defaultMode !== undefined ? { defaultMode: o.defaultMode } : {}),
  };
}

/** A volume mounted into a container. */
export interface Mount {
  /** Where it appears in the container, an absolute path. */
  readonly path: string;
  readonly volume: Volume;
  /**
   * @default true for Secrets and ConfigMaps, false for the others
   */
  readonly readOnly?: boolean;
  /**
   * Mount only this path inside the volume.
   * @default the whole volume
   */
  readonly subPath?: string;
}

/** A mount as the pod renderer sees it: a Mount, or a pod volume named directly (emptyDirs of writablePaths, claims). */
export interface NamedMount {
  readonly path: string;
  readonly name: string;
  readonly readOnly?: boolean;
  readonly subPath?: string;
}

/**
 * Names the pod volumes of every container's mounts: Secret, ConfigMap and claim volumes by their
 * object (mounting the same Secret twice is one volume), emptyDirs by instance; `reserved` names
 * (the writable paths' emptyDirs, a StatefulSet's claims) are never given out.
 */
export class PodVolumes {
  private readonly names = new Map<Volume, string>();
  private readonly byName = new Map<string, Omit<k8s.Volume, 'name'>>();
  private readonly order: string[] = [];

  constructor(private readonly reserved: readonly string[]) {}

  /** The pod volume name of `volume`, assigned on first use. */
  public nameOf(volume: Volume): string {
    const known = this.names.get(volume);
    if (known) return known;
    const source = volume._toKube();
    const json = JSON.stringify(source);
    const base = volume._baseName;
    let name = base;
    for (let i = 2; ; i++) {
      if (this.reserved.includes(name)) {
        name = `${base}-${i}`;
        continue;
      }
      const existing = this.byName.get(name);
      if (!existing) break;
      if (volume._shareable && JSON.stringify(existing) === json) break;
      name = `${base.slice(0, 60)}-${i}`;
    }
    if (!this.byName.has(name)) {
      this.byName.set(name, source);
      this.order.push(name);
    }
    this.names.set(volume, name);
    return name;
  }

  /** The `volumes[]` entries for the volumes named so far, in first-use order. */
  public render(): k8s.Volume[] {
    return this.order.map((name) => ({ name, ...this.byName.get(name) }));
  }
}

/** A container's `volumeMounts[]` entry for a mount. */
export function renderMount(m: NamedMount): k8s.VolumeMount {
  return {
    name: m.name,
    mountPath: m.path,
    ...(m.readOnly ? { readOnly: true } : {}),
    ...(m.subPath !== undefined ? { subPath: m.subPath } : {}),
  };
}

/** An absolute path as the container runtime resolves it: no ".", "..", doubled or trailing "/". */
function cleanPath(path: string): string {
  if (!path.startsWith('/')) return path.length > 1 ? path.replace(/\/+$/, '') : path;
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '..') parts.pop();
    else if (part !== '' && part !== '.') parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/**
 * Checks one container's mounts: absolute, unique paths (the kubelet refuses a pod that mounts
 * two volumes at one path), relative sub-paths.
 */
export function validateMounts(
  mounts: readonly {
    readonly field: string;
    /** The field problems with the path are reported on. @default `${field}.path` */
    readonly pathField?: string;
    readonly path: string;
    readonly subPath?: string;
    readonly volume?: Volume;
    /** Whether the path is absolute is checked elsewhere already. */
    readonly onlyDuplicates?: boolean;
  }[],
  p: Problems,
): void {
  const seen = new Map<string, string>();
  for (const m of mounts) {
    const pathField = m.pathField ?? `${m.field}.path`;
    const path = cleanPath(m.path);
    if (!m.path.startsWith('/')) {
      // A caller that checks its paths itself (onlyDuplicates) has reported this already.
      if (!m.onlyDuplicates) p.add(pathField, `"${m.path}" is not an absolute path`, 'start it with "/"');
    } else if (/\/\.\.?(\/|$)|\/\//.test(m.path)) {
      // The container runtime mounts at the cleaned path (containerd's CRI plugin and runc
      // resolve "." and ".." inside the root), while the API server compares mountPaths as written:
      // "/x/../tmp" passes its uniqueness check and then hides the /tmp scratch volume.
      p.add(
        pathField,
        `"${m.path}" has "." or ".." parts or a doubled "/", and the container runtime mounts it at "${path}"`,
        `write "${path}"`,
      );
    } else if (path.includes(':')) {
      p.add(
        pathField,
        `"${m.path}" contains ":", which the API server refuses in a mountPath`,
        'remove the ":"',
      );
    } else if (path.includes('\0')) {
      // The API server takes it; mount(2) takes C strings, so the runtime cannot mount it.
      p.add(
        pathField,
        `${JSON.stringify(m.path)} has a NUL character, which no path can hold, so the mount fails and the pod never starts`,
        'remove the "\\0"',
      );
    }
    const other = seen.get(path);
    if (other !== undefined) {
      p.add(pathField, `"${m.path}" is already mounted by ${other}`, 'mount each path once');
    } else {
      seen.set(path, m.field);
    }
    const sub = m.subPath;
    if (sub?.includes('\0')) {
      p.add(
        `${m.field}.subPath`,
        `${JSON.stringify(sub)} has a NUL character, which no path can hold, so the mount fails and the pod never starts`,
        'remove the "\\0"',
      );
    } else if (sub !== undefined && (sub.startsWith('/') || sub.split('/').includes('..'))) {
      p.add(
        `${m.field}.subPath`,
        `${JSON.stringify(sub)} is not a relative path inside the volume`,
        'use a relative path without ".."',
      );
    }
    m.volume?._validate(p, `${m.field}.volume`);
  }
}

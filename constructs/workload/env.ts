/**
 * Environment of a container: literal values, a key of a Secret or ConfigMap, a field of the pod,
 * and whole Secrets or ConfigMaps (`envFrom`), as cdk8s-plus's `EnvValue` and `Env.fromSecret`
 * model them (https://kubernetes.io/docs/tasks/inject-data-application/distribute-credentials-secure/,
 * https://kubernetes.io/docs/tasks/configure-pod-container/configure-pod-configmap/).
 */
import type { k8s } from 'cdk8s-plus-27';
import { checkInput } from '../input.js';
import { qualifiedNameProblem } from '../k8s-names.js';
import type { Problems } from '../validation.js';

/** Options of a value read from a Secret or ConfigMap. */
export interface EnvSourceOptions {
  /**
   * Start the container even when the Secret/ConfigMap or its key is missing (the variable is then unset).
   * @default false: the kubelet refuses to start the container until it exists
   */
  readonly optional?: boolean;
}

/** Options of a whole Secret or ConfigMap as environment variables. */
export interface EnvFromOptions {
  /**
   * Prepended to every key, e.g. "DB_".
   * @default none
   */
  readonly prefix?: string;
  /**
   * Start the container even when the Secret/ConfigMap is missing.
   * @default false
   */
  readonly optional?: boolean;
}

/**
 * The downward API fields Kubernetes allows in an environment variable's `fieldRef`
 * (https://kubernetes.io/docs/concepts/workloads/pods/downward-api/#downwardapi-fieldRef).
 */
const FIELD_PATHS = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
];
const FIELD_PATH_KEYED = /^metadata\.(labels|annotations)\['([^']+)'\]$/;
/** ConfigMap and Secret keys (IsConfigMapKey): letters, digits, "-", "_" and ".", at most 253. */
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

type EnvSource =
  | { readonly kind: 'value'; readonly value: string }
  | {
      readonly kind: 'secret' | 'configMap';
      readonly name: string;
      readonly key: string;
      readonly optional?: boolean;
    }
  | { readonly kind: 'field'; readonly path: string };

/** The value of one environment variable. A plain string in `env` is a literal value. */
export class EnvValue {
  /** A literal value (what a plain string in `env` means). */
  public static fromValue(value: string): EnvValue {
    checkInput.workloadValue('EnvValue.fromValue', { value });
    return new EnvValue({ kind: 'value', value });
  }

  /** The value of `key` in Secret `secretName`, e.g. a database password. */
  public static fromSecret(secretName: string, key: string, options: EnvSourceOptions = {}): EnvValue {
    checkInput.workloadValue('EnvValue.fromSecret', { secretName, key, sourceOptions: options });
    return new EnvValue({ kind: 'secret', name: secretName, key, optional: options.optional });
  }

  /** The value of `key` in ConfigMap `configMapName`. */
  public static fromConfigMap(configMapName: string, key: string, options: EnvSourceOptions = {}): EnvValue {
    checkInput.workloadValue('EnvValue.fromConfigMap', { configMapName, key, sourceOptions: options });
    return new EnvValue({ kind: 'configMap', name: configMapName, key, optional: options.optional });
  }

  /** A field of the pod through the downward API, e.g. "metadata.name" or "status.podIP". */
  public static fromFieldPath(path: string): EnvValue {
    checkInput.workloadValue('EnvValue.fromFieldPath', { path });
    return new EnvValue({ kind: 'field', path });
  }

  private constructor(private readonly source: EnvSource) {}

  /** @internal The Kubernetes `EnvVar` of a variable with this value. */
  public _toKube(name: string): k8s.EnvVar {
    const s = this.source;
    switch (s.kind) {
      case 'value':
        return { name, value: s.value };
      case 'field':
        return { name, valueFrom: { fieldRef: { fieldPath: s.path } } };
      case 'secret':
        return { name, valueFrom: { secretKeyRef: selector(s.name, s.key, s.optional) } };
      case 'configMap':
        return { name, valueFrom: { configMapKeyRef: selector(s.name, s.key, s.optional) } };
    }
  }

  /** @internal The literal value (fromValue), undefined for the other sources. */
  public get _literal(): string | undefined {
    return this.source.kind === 'value' ? this.source.value : undefined;
  }

  /** @internal */
  public _validate(p: Problems, field: string): void {
    const s = this.source;
    if (s.kind === 'secret' || s.kind === 'configMap') {
      p.dnsSubdomain(`${field}.${s.kind === 'secret' ? 'secretName' : 'configMapName'}`, s.name);
      validateConfigKey(p, `${field}.key`, s.key);
    } else if (s.kind === 'field' && !FIELD_PATHS.includes(s.path) && !FIELD_PATH_KEYED.test(s.path)) {
      p.add(
        `${field}.fieldPath`,
        `"${s.path}" is not a pod field the downward API offers to environment variables`,
        `use one of ${FIELD_PATHS.join(', ')}, or metadata.labels['<key>']`,
      );
    } else if (s.kind === 'field') {
      // The API server checks the key in brackets as a label or annotation key (ValidateQualifiedName
      // in validateDownwardAPIFieldPath, pkg/apis/core/validation/validation.go; annotation keys
      // lower-cased first) and refuses the pod otherwise.
      const m = FIELD_PATH_KEYED.exec(s.path);
      const key = m?.[1] === 'annotations' ? m[2].toLowerCase() : m?.[2];
      const problem = key === undefined ? undefined : qualifiedNameProblem(key);
      if (problem !== undefined) {
        p.add(
          `${field}.fieldPath`,
          `"${s.path}" names the key "${m![2]}", which is not a label or annotation key: ${problem}`,
          "write the key as [prefix/]name, e.g. metadata.labels['app.kubernetes.io/name']",
        );
      }
    }
  }

  public toString(): string {
    const s = this.source;
    switch (s.kind) {
      case 'value':
        return s.value;
      case 'field':
        return `<field ${s.path}>`;
      default:
        return `<${s.kind} ${s.name}/${s.key}>`;
    }
  }
}

/** All keys of a Secret or ConfigMap as environment variables (`envFrom`). */
export class EnvFrom {
  /** Every key of Secret `secretName`, each a variable (with `prefix`). */
  public static secret(secretName: string, options: EnvFromOptions = {}): EnvFrom {
    checkInput.workloadValue('EnvFrom.secret', { secretName, envFromOptions: options });
    return new EnvFrom('secret', secretName, options);
  }

  /** Every key of ConfigMap `configMapName`, each a variable (with `prefix`). */
  public static configMap(configMapName: string, options: EnvFromOptions = {}): EnvFrom {
    checkInput.workloadValue('EnvFrom.configMap', { configMapName, envFromOptions: options });
    return new EnvFrom('configMap', configMapName, options);
  }

  private constructor(
    public readonly kind: 'secret' | 'configMap',
    public readonly name: string,
    private readonly options: EnvFromOptions,
  ) {}

  /** @internal */
  public _toKube(): k8s.EnvFromSource {
    const ref = {
      name: this.name,
      ...(this.options.optional !== undefined ? { optional: this.options.optional } : {}),
    };
    return {
      ...(this.options.prefix !== undefined ? { prefix: this.options.prefix } : {}),
      ...(this.kind === 'secret' ? { secretRef: ref } : { configMapRef: ref }),
    };
  }

  /** @internal */
  public _validate(p: Problems, field: string): void {
    p.dnsSubdomain(`${field}.${this.kind === 'secret' ? 'secretName' : 'configMapName'}`, this.name);
    const prefix = this.options.prefix;
    if (prefix !== undefined && !isEnvName(prefix)) {
      p.add(
        `${field}.prefix`,
        `${JSON.stringify(prefix)} is not the start of a valid environment variable name`,
        'use printable ASCII characters other than "=", e.g. "DB_"',
      );
    }
  }
}

function selector(name: string, key: string, optional: boolean | undefined) {
  return { name, key, ...(optional !== undefined ? { optional } : {}) };
}

/** A key a Secret or ConfigMap can hold (IsConfigMapKey), or a problem at `field`. */
export function validateConfigKey(p: Problems, field: string, key: string): void {
  // IsConfigMapKey also refuses "." and ".." and keys starting with "..", which would leave the
  // volume's directory (hasChDirPrefix in k8s.io/apimachinery/pkg/util/validation).
  if (key.length > 253 || !CONFIG_KEY.test(key)) {
    p.add(
      field,
      `${JSON.stringify(key)} is not a Secret or ConfigMap key`,
      'use letters, digits, "-", "_" and ".", e.g. "password"',
    );
  } else if (key === '.' || key.startsWith('..')) {
    p.add(
      field,
      `${JSON.stringify(key)} is not a Secret or ConfigMap key`,
      'a key must not be "." or start with "..", e.g. "password" or ".env"',
    );
  }
}

/**
 * Environment variable names as the API server checks them since Kubernetes 1.34 (relaxed
 * validation, GA): printable ASCII other than "=", not empty.
 */
function isEnvName(name: string): boolean {
  return /^[\x20-\x3c\x3e-\x7e]+$/.test(name);
}

/** An `env` prop: names to literal strings or EnvValues. */
export type EnvMap = Record<string, string | EnvValue>;

/** Checks the names and values of an `env` prop. */
export function validateEnv(env: EnvMap | undefined, field: string, p: Problems): void {
  for (const [name, value] of Object.entries(env ?? {})) {
    if (!isEnvName(name)) {
      p.add(
        `${field}[${JSON.stringify(name)}]`,
        'is not a valid environment variable name',
        'use printable ASCII characters other than "=", e.g. LOG_LEVEL',
      );
    }
    if (value instanceof EnvValue) value._validate(p, `${field}[${JSON.stringify(name)}]`);
    const literal = typeof value === 'string' ? value : value?._literal;
    if (literal?.includes('\0')) {
      p.add(
        `${field}[${JSON.stringify(name)}]`,
        'has a NUL character in its value, which runc refuses, so the container never starts',
        'remove the "\\0"',
      );
    }
  }
}

/**
 * A container's command or args: runc cannot pass a string with a NUL character to the process
 * (libcontainer/init_linux.go refuses one in the environment, and execve takes C strings), so the
 * container fails to start although the API server accepts it.
 */
export function validateArgv(list: readonly string[] | undefined, field: string, p: Problems): void {
  list?.forEach((arg, i) => {
    if (typeof arg === 'string' && arg.includes('\0')) {
      p.add(
        `${field}[${i}]`,
        'has a NUL character, which no process can receive as an argument',
        'remove the "\\0"',
      );
    }
  });
}

/** Renders an `env` prop in its key order; undefined when empty, so the field is left out. */
export function renderEnv(env: EnvMap): k8s.EnvVar[] | undefined {
  const entries = Object.entries(env);
  if (entries.length === 0) return undefined;
  return entries.map(([name, value]) => (typeof value === 'string' ? { name, value } : value._toKube(name)));
}

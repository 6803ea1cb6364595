/** The shapes of the generated schemas (constructs/admission/generated/, by tools/gen-schemas.ts). */

/** One CEL rule of a CRD schema (x-kubernetes-validations). */
export interface CelRule {
  readonly rule: string;
  readonly message?: string;
  readonly messageExpression?: string;
  readonly reason?: string;
  readonly fieldPath?: string;
  readonly optionalOldSelf?: boolean;
}

/** A CRD's OpenAPI v3 schema, reduced to what validation needs. */
export interface Schema {
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  readonly format?: string;
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: boolean;
  readonly exclusiveMaximum?: boolean;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly minProperties?: number;
  readonly maxProperties?: number;
  readonly uniqueItems?: boolean;
  readonly required?: readonly string[];
  readonly nullable?: boolean;
  readonly default?: unknown;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly items?: Schema;
  readonly additionalProperties?: Schema | boolean;
  readonly oneOf?: readonly Schema[];
  readonly anyOf?: readonly Schema[];
  readonly allOf?: readonly Schema[];
  readonly not?: Schema;
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
  readonly 'x-kubernetes-int-or-string'?: boolean;
  readonly 'x-kubernetes-embedded-resource'?: boolean;
  readonly 'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
  readonly 'x-kubernetes-validations'?: readonly CelRule[];
}

/**
 * The fields of the built-in kinds: per type a map of field → reference, where a reference is a
 * type name, "[]" + reference for a list, "{}" + reference for a map, or a leaf: "s" scalar,
 * "q" quantity, "i" int-or-string, "*" anything.
 */
export interface KubeFieldTree {
  /** "<apiVersion>/<Kind>" → the type of the object. */
  readonly kinds: Readonly<Record<string, string>>;
  readonly types: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/**
 * What kubernetes-models' compiled validator of each built-in type accepts, found by
 * tools/gen-schemas.ts asking the validators themselves: the fast path of the admission pass
 * (builtin.ts) checks an object against these, and hands it to the validators only when they
 * might find something.
 */
export interface KubeShapes {
  readonly types: Readonly<Record<string, KubeTypeShape>>;
}

export interface KubeTypeShape {
  readonly required: readonly string[];
  readonly fields: Readonly<Record<string, KubeShape>>;
}

/** A field's value: t the type ("type" for an object of the type named by ref); n nullable. */
export interface KubeShape {
  readonly t:
    | 'string'
    | 'integer'
    | 'number'
    | 'boolean'
    | 'object'
    | 'any'
    | 'quantity'
    | 'int-or-string'
    | 'list'
    | 'map'
    | 'type';
  readonly n?: true;
  /** The allowed values of a string. */
  readonly e?: readonly string[];
  /** The format of a string or integer ("int32", "date-time", ...). */
  readonly f?: string;
  /** The items of a list, the values of a map. */
  readonly of?: KubeShape;
  readonly ref?: string;
}

/**
 * A CEL expression in the compact form cel.ts evaluates itself (tools/gen-schemas.ts writes it):
 * ["s", string], ["b", boolean], ["i", integer] literals; ["id", name]; ["sel", operand, field] and
 * ["has", operand, field] (has(operand.field)); ["list", items]; ["call", function, target or
 * null, args]; ["comp", iterVar, range, accuVar, init, condition, step, result] (a macro); ["map"],
 * the empty map literal.
 */
export type NativeCel =
  | readonly ['s', string]
  | readonly ['b', boolean]
  | readonly ['i', number]
  | readonly ['id', string]
  | readonly ['sel' | 'has', NativeCel, string]
  | readonly ['list', readonly NativeCel[]]
  | readonly ['map']
  | readonly ['call', string, NativeCel | null, readonly NativeCel[]]
  | readonly ['comp', string, NativeCel, string, NativeCel, NativeCel, NativeCel, NativeCel];

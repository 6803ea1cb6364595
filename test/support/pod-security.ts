/**
 * The Pod Security Standards "restricted" profile (Kubernetes v1.27+), checked on a pod spec the
 * way the PodSecurity admission controller checks it. Returns the violations; none means admitted.
 */
const RESTRICTED_VOLUMES = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function restrictedViolations(pod: any): string[] {
  const v: string[] = [];
  const podSc = pod.securityContext ?? {};
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) v.push('host namespaces');
  for (const vol of pod.volumes ?? []) {
    const type = Object.keys(vol).find((k) => k !== 'name');
    if (!type || !RESTRICTED_VOLUMES.includes(type)) v.push(`volume ${vol.name} of type ${type}`);
  }
  if (podSc.runAsUser === 0) v.push('pod runAsUser 0');
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    const sc = c.securityContext ?? {};
    const name = `container ${c.name}`;
    if (sc.privileged) v.push(`${name}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) v.push(`${name}: allowPrivilegeEscalation must be false`);
    if (!(sc.runAsNonRoot ?? podSc.runAsNonRoot)) v.push(`${name}: runAsNonRoot must be true`);
    if (sc.runAsUser === 0) v.push(`${name}: runAsUser 0`);
    const seccomp = (sc.seccompProfile ?? podSc.seccompProfile)?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
      v.push(`${name}: seccompProfile must be RuntimeDefault or Localhost`);
    const caps = sc.capabilities ?? {};
    if (!(caps.drop ?? []).includes('ALL')) v.push(`${name}: capabilities must drop ALL`);
    for (const add of caps.add ?? [])
      if (add !== 'NET_BIND_SERVICE') v.push(`${name}: adds capability ${add}`);
    for (const p of c.ports ?? []) if (p.hostPort) v.push(`${name}: hostPort ${p.hostPort}`);
  }
  return v;
}

export const PKG = 'lock-etcd';

export const PKG = 'discovery-dns';

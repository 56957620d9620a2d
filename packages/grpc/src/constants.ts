/** Package tag for error messages. */
export const PKG = 'grpc';
/** The target scheme: `switchyard:///service` or `switchyard://<discovery name>/service`. */
export const SCHEME = 'switchyard';
/** The LB policy name in a service config's `loadBalancingConfig`. */
export const POLICY = 'switchyard';
/**
 * Channel attribute carrying the resolved instances from the resolver to the LB policy; the
 * grpc-js prefix keeps it out of subchannel arguments (so it never splits the subchannel pool).
 */
export const INSTANCES_ATTRIBUTE = 'grpc.internal.no_subchannel.switchyard.instances';

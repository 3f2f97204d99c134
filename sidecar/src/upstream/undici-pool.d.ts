// Types for the deep import of undici's Pool (see pools.ts): the module is undici's own Pool.
declare module 'undici/lib/dispatcher/pool.js' {
  import type { Pool } from 'undici'

  const PoolClass: typeof Pool
  export default PoolClass
}

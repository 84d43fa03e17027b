// The entry of the standalone collector bundle (dist/collector.mjs, scripts/build.ts): main.ts with
// the global Headers replaced first by LightHeaders, so that Node never loads undici in a collector
// process (5 MiB resident; light-headers.ts). The import order is the evaluation order.
import './light-headers-global.ts';

export * from './main.ts';

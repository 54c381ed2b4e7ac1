// The part of autocannon (a devDependency, used only by the benchmark) the suite calls.
declare module 'autocannon' {
  interface Histogram { average: number; p50: number; p90: number; p99: number; max: number }
  interface Result { requests: Histogram & { total: number; mean: number }; latency: Histogram; errors: number; timeouts: number; non2xx: number; duration: number }
  interface Options { url: string; connections?: number; duration?: number; pipelining?: number; headers?: Record<string, string> }
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
}

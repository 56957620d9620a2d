/** Smallest prime >= n (trial division; n is at most a few million). */
export function nextPrime(n: number): number {
  let p = Math.max(2, Math.ceil(n));
  for (;;) {
    if (isPrime(p)) return p;
    p++;
  }
}

export function isPrime(n: number): boolean {
  if (n < 2 || !Number.isInteger(n)) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

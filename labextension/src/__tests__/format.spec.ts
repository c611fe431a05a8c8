import { formatDuration, formatNumber, timeAgo } from '../components/common';
import { decodeNumber } from '../model';

describe('numbers from the API', () => {
  it('decodes non-finite strings and keeps numbers', () => {
    expect(decodeNumber('NaN')).toBeNaN();
    expect(decodeNumber('Infinity')).toBe(Infinity);
    expect(decodeNumber('-Infinity')).toBe(-Infinity);
    expect(decodeNumber(0.25)).toBe(0.25);
  });

  it('formats them for tables', () => {
    expect(formatNumber(NaN)).toBe('NaN');
    expect(formatNumber(-Infinity)).toBe('-∞');
    expect(formatNumber(0.1 + 0.2)).toBe('0.3');
    expect(formatNumber(12345678901)).toBe('12345678901');
    expect(formatNumber(1.5e-7)).toBe('1.5000e-7');
  });

  it('formats durations and ages', () => {
    expect(formatDuration(0.25)).toBe('250 ms');
    expect(formatDuration(65)).toBe('1 min 05 s');
    expect(formatDuration(null)).toBe('');
    expect(timeAgo('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:05:00Z'))).toBe('5 min ago');
  });
});

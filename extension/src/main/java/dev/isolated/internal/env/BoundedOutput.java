package dev.isolated.internal.env;

import java.io.ByteArrayOutputStream;

/**
 * One output stream of a command, captured up to a bound: the first {@code max / 2} bytes and the last
 * {@code max - max / 2}, with the count of the bytes dropped between them. Memory stays within the bound
 * however much the command prints.
 */
final class BoundedOutput {
    private final int headMax;
    private final int tailMax;
    private final ByteArrayOutputStream head = new ByteArrayOutputStream();
    private byte[] tail; // a ring of tailMax bytes, allocated once the head is full
    private int tailStart;
    private int tailLength;
    private long total;

    BoundedOutput(int maxBytes) {
        this.headMax = maxBytes / 2;
        this.tailMax = maxBytes - headMax;
    }

    synchronized void write(byte[] data) {
        total += data.length;
        int at = Math.min(data.length, headMax - head.size());
        head.write(data, 0, at);
        if (at == data.length || tailMax == 0) {
            return;
        }
        if (tail == null) {
            tail = new byte[tailMax];
        }
        int n = data.length - at;
        if (n >= tailMax) { // only the end of this chunk stays
            System.arraycopy(data, data.length - tailMax, tail, 0, tailMax);
            tailStart = 0;
            tailLength = tailMax;
            return;
        }
        int end = (tailStart + tailLength) % tailMax; // where the next byte goes
        int first = Math.min(n, tailMax - end);
        System.arraycopy(data, at, tail, end, first);
        System.arraycopy(data, at + first, tail, 0, n - first);
        int overflow = Math.max(0, tailLength + n - tailMax); // oldest bytes overwritten
        tailLength = Math.min(tailMax, tailLength + n);
        tailStart = (tailStart + overflow) % tailMax;
    }

    /** @return the head followed by the tail */
    synchronized byte[] bytes() {
        byte[] out = new byte[head.size() + tailLength];
        byte[] h = head.toByteArray();
        System.arraycopy(h, 0, out, 0, h.length);
        int first = Math.min(tailLength, tailMax - tailStart);
        if (tailLength > 0) {
            System.arraycopy(tail, tailStart, out, h.length, first);
            System.arraycopy(tail, 0, out, h.length + first, tailLength - first);
        }
        return out;
    }

    /** @return how many bytes were dropped between the head and the tail */
    synchronized long dropped() {
        return total - head.size() - tailLength;
    }
}

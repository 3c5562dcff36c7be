package dev.isolated.internal.image;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/** Tells a {@link TarExtraction.ByteCounter} how many bytes were read through it; closing it closes nothing. */
final class CountingInputStream extends FilterInputStream {

    private final TarExtraction.ByteCounter counter;

    CountingInputStream(InputStream in, TarExtraction.ByteCounter counter) {
        super(in);
        this.counter = counter;
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        if (b >= 0) {
            counter.add(1);
        }
        return b;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
        int read = super.read(buffer, offset, length);
        if (read > 0) {
            counter.add(read);
        }
        return read;
    }

    @Override
    public void close() {
        // the caller owns the stream
    }
}

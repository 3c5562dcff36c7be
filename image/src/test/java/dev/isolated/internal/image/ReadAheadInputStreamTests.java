package dev.isolated.internal.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ReadAheadInputStreamTests {

    private static byte[] bytes(int size) {
        byte[] data = new byte[size];
        new Random(size).nextBytes(data);
        return data;
    }

    @Test
    void readerSeesTheSourceBytesAndItsEnd() throws IOException {
        for (int size : new int[] {0, 1, 512, 64 * 1024, 64 * 1024 + 1, 3_000_000}) {
            byte[] data = bytes(size);
            try (ReadAheadInputStream in = new ReadAheadInputStream(new ByteArrayInputStream(data), "test")) {
                byte[] first = new byte[Math.min(size, 7)];
                for (int i = 0; i < first.length; i++) {
                    first[i] = (byte) in.read();
                }
                byte[] rest = in.readAllBytes();
                byte[] all = new byte[first.length + rest.length];
                System.arraycopy(first, 0, all, 0, first.length);
                System.arraycopy(rest, 0, all, first.length, rest.length);
                assertThat(all).as("size %d", size).isEqualTo(data);
                assertThat(in.read()).isEqualTo(-1);
                assertThat(in.read(new byte[10], 0, 10)).isEqualTo(-1);
            }
        }
    }

    @Test
    void theSourcesExceptionReachesTheReaderAfterTheBytesBeforeIt() throws IOException {
        IOException broken = new IOException("Unexpected end of ZLIB input stream");
        byte[] data = bytes(200_000);
        InputStream failing = new InputStream() {
            @Override
            public int read() throws IOException {
                throw broken;
            }
        };
        try (ReadAheadInputStream in =
                new ReadAheadInputStream(new SequenceInputStream(new ByteArrayInputStream(data), failing), "test")) {
            assertThat(in.readNBytes(data.length)).isEqualTo(data);
            assertThatThrownBy(in::read).isSameAs(broken);
            assertThatThrownBy(in::read).isSameAs(broken);
        }
    }

    @Test
    void closeEndsTheThreadAndLeavesTheRestOfTheSourceToTheCaller() throws Exception {
        byte[] data = bytes(10_000_000);
        AtomicLong consumed = new AtomicLong();
        InputStream source = new ByteArrayInputStream(data) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                int read = super.read(b, off, len);
                consumed.addAndGet(Math.max(read, 0));
                return read;
            }
        };
        ReadAheadInputStream in = new ReadAheadInputStream(source, "isolated-read-ahead-test");
        assertThat(in.read()).isEqualTo(data[0] & 0xff);
        in.close();
        long after = consumed.get();
        assertThat(Thread.getAllStackTraces().keySet())
                .noneMatch(t -> t.getName().equals("isolated-read-ahead-test"));
        assertThat(after).as("read only a bounded distance ahead").isLessThan(data.length);
        Thread.sleep(100);
        assertThat(consumed.get()).as("not read after close").isEqualTo(after);
        assertThat(source.readAllBytes()).hasSize((int) (data.length - after));
        assertThatThrownBy(in::read).isInstanceOf(IOException.class).hasMessage("Stream closed");
    }
}

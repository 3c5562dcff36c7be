package dev.isolated.bench;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A PostgreSQL connection as a JDBC driver opens one, without a driver: over TCP, the protocol 3.0 startup message
 * (user and database), then the server's messages up to ReadyForQuery, when a driver's {@code getConnection}
 * returns. Needs {@code trust} authentication (the bench's {@code initdb -A trust}); any other request fails.
 */
final class PgHandshake {
    private PgHandshake() {}

    /**
     * Connects to {@code 127.0.0.1:port} as {@code postgres} to the database {@code postgres} and closes again.
     *
     * @throws IOException when the server refuses, asks for a password or answers with an error
     */
    static void connect(int port) throws IOException {
        session(port, null);
    }

    /**
     * Connects as {@link #connect} does, runs {@code sql} as a simple query (its rows are read, not kept), and
     * closes.
     *
     * @throws IOException when the server refuses the connection or the query fails
     */
    static void query(int port, String sql) throws IOException {
        session(port, sql);
    }

    private static void session(int port, String sql) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            byte[] params = "user\0postgres\0database\0postgres\0\0".getBytes(StandardCharsets.US_ASCII);
            ByteBuffer startup = ByteBuffer.allocate(8 + params.length)
                    .putInt(8 + params.length)
                    .putInt(196608)
                    .put(params);
            OutputStream out = socket.getOutputStream();
            out.write(startup.array());
            out.flush();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            untilReady(in);
            if (sql != null) {
                byte[] text = (sql + "\0").getBytes(StandardCharsets.UTF_8);
                out.write(ByteBuffer.allocate(5 + text.length)
                        .put((byte) 'Q')
                        .putInt(4 + text.length)
                        .put(text)
                        .array());
                out.flush();
                untilReady(in);
            }
            out.write(new byte[] {'X', 0, 0, 0, 4}); // Terminate
            out.flush();
        }
    }

    /** Reads the server's messages up to ReadyForQuery; an error or a request for a password fails. */
    private static void untilReady(DataInputStream in) throws IOException {
        while (true) {
            int type = in.readUnsignedByte();
            byte[] body = new byte[in.readInt() - 4];
            in.readFully(body);
            if (type == 'Z') {
                return;
            }
            if (type == 'E' || (type == 'R' && ByteBuffer.wrap(body).getInt() != 0)) {
                throw new IOException("PostgreSQL refused: " + (char) type + " "
                        + new String(body, StandardCharsets.UTF_8).replace('\0', ' '));
            }
        }
    }
}

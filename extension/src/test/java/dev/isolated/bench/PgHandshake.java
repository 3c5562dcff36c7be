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
    private PgHandshake() {
    }

    /**
     * Connects to {@code 127.0.0.1:port} as {@code postgres} to the database {@code postgres} and closes again.
     *
     * @throws IOException when the server refuses, asks for a password or answers with an error
     */
    static void connect(int port) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            byte[] params = "user\0postgres\0database\0postgres\0\0".getBytes(StandardCharsets.US_ASCII);
            ByteBuffer startup = ByteBuffer.allocate(8 + params.length).putInt(8 + params.length).putInt(196608).put(params);
            OutputStream out = socket.getOutputStream();
            out.write(startup.array());
            out.flush();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            while (true) {
                int type = in.readUnsignedByte();
                byte[] body = new byte[in.readInt() - 4];
                in.readFully(body);
                if (type == 'Z') {
                    out.write(new byte[] {'X', 0, 0, 0, 4}); // Terminate
                    out.flush();
                    return;
                }
                if (type == 'E' || (type == 'R' && ByteBuffer.wrap(body).getInt() != 0)) {
                    throw new IOException("PostgreSQL refused the connection: " + (char) type + " "
                            + new String(body, StandardCharsets.UTF_8).replace('\0', ' '));
                }
            }
        }
    }
}

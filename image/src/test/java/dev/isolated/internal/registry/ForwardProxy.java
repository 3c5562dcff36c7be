package dev.isolated.internal.registry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A tiny HTTP proxy on 127.0.0.1 for tests: it takes a {@code CONNECT host:port} (answering 200) or an
 * absolute-form request ({@code GET http://host:port/...}, passed on as it is), connects to {@code upstream}
 * whatever host was asked for, and then copies bytes both ways. It records each connection's first line.
 */
public final class ForwardProxy implements AutoCloseable {

    private final ServerSocket server;
    private final int upstreamPort;
    private final List<String> requestLines = new ArrayList<>();
    private final List<Socket> sockets = new ArrayList<>();

    /** @param upstreamPort the 127.0.0.1 port every request is sent to */
    public ForwardProxy(int upstreamPort) throws IOException {
        this.upstreamPort = upstreamPort;
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "test-proxy");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    /** The first line of each connection so far ({@code CONNECT host:port HTTP/1.1}, {@code GET http://... HTTP/1.1}). */
    public List<String> requestLines() {
        synchronized (requestLines) {
            return new ArrayList<>(requestLines);
        }
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Thread thread = new Thread(() -> serve(client), "test-proxy-connection");
                thread.setDaemon(true);
                thread.start();
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket client) {
        try (client;
                Socket upstream = new Socket(InetAddress.getLoopbackAddress(), upstreamPort)) {
            synchronized (requestLines) {
                sockets.add(client);
                sockets.add(upstream);
            }
            InputStream in = client.getInputStream();
            byte[] head = readHead(in);
            String text = new String(head, StandardCharsets.ISO_8859_1);
            String firstLine = text.substring(0, text.indexOf("\r\n"));
            synchronized (requestLines) {
                requestLines.add(firstLine);
            }
            if (firstLine.startsWith("CONNECT ")) {
                client.getOutputStream()
                        .write("HTTP/1.1 200 Connection established\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            } else {
                upstream.getOutputStream().write(head);
            }
            Thread back = new Thread(() -> copy(upstream, client), "test-proxy-back");
            back.setDaemon(true);
            back.start();
            copy(client, upstream);
            back.join();
        } catch (IOException | InterruptedException | StringIndexOutOfBoundsException e) {
            // the connection ends
        }
    }

    private static byte[] readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            head.write(b);
            byte[] bytes = head.toByteArray();
            int n = bytes.length;
            if (n >= 4
                    && bytes[n - 4] == '\r'
                    && bytes[n - 3] == '\n'
                    && bytes[n - 2] == '\r'
                    && bytes[n - 1] == '\n') {
                break;
            }
        }
        return head.toByteArray();
    }

    private static void copy(Socket from, Socket to) {
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            byte[] buffer = new byte[64 * 1024];
            int n;
            while ((n = in.read(buffer)) > 0) {
                out.write(buffer, 0, n);
                out.flush();
            }
            to.shutdownOutput();
        } catch (IOException e) {
            // one side closed
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        synchronized (requestLines) {
            for (Socket socket : sockets) {
                socket.close();
            }
        }
    }
}

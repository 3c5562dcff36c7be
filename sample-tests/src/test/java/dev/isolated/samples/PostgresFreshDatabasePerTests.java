package dev.isolated.samples;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.EnvironmentPool;
import dev.isolated.FrozenState;
import dev.isolated.IsolatedConfiguration;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.Wait;
import dev.isolated.testimages.DebianImages;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * A fresh, migrated PostgreSQL database for every test, without running the migration (or {@code initdb}) per
 * test, nor waiting for the server to start: the cluster is made and migrated once per JVM, into a
 * {@link FrozenState}; an {@link EnvironmentPool} keeps two environments started from copy-on-write copies of it,
 * each with the server started by the image's own command and ready to accept connections; each test takes one
 * (the pool starts the next one meanwhile) and talks to it by JDBC (the PostgreSQL driver is a test dependency of
 * this module).
 *
 * <p>The two tests below insert the same customer into a table whose emails are unique, and both pass in either
 * order: each has a database of its own, which no other test has seen.
 *
 * <p>Without the pool, {@code @WritableLayer(frozen = "migrated-postgres")} and {@code @StartImageCommand(logLine =
 * READY)} on the class give each test an environment from the state with the server started in the test, injected
 * as a parameter: simpler, about 200 ms more per test.
 *
 * <p>In your project the image is in your registry ({@code builder().image("postgres:15")}), and
 * {@link #migrateOnce()} is only the {@code FrozenState.cached} call. Here it first starts a registry of its own
 * on 127.0.0.1 holding Debian bookworm + {@code postgresql-15} (see {@link RedisFromARegistryTests} and
 * {@link DebianImages}); the image runs as {@code postgres} and its command starts the cluster {@code 15/main} the
 * package made, listening on 127.0.0.1:5432, where password logins are asked for.
 */
@ResourceLock(IsolatedConfiguration.REGISTRY_INSECURE) // the registry's address is a system property while it is used
class PostgresFreshDatabasePerTests {
    /** PostgreSQL prints it once, when the server accepts connections (also on a start from the frozen state). */
    static final String READY = "database system is ready to accept connections";

    /** Databases started from the migrated state before the tests ask; each test takes its own. */
    static EnvironmentPool databases;

    @BeforeAll
    static void migrateOnce() throws Exception {
        String schema = resource("/db/schema.sql");
        try (DebianImages registry = DebianImages.start(DebianImages.POSTGRES)) {
            System.setProperty(IsolatedConfiguration.REGISTRY_INSECURE, registry.host());
            // Once per JVM and key: a changed schema.sql has another hash, and the state is made anew.
            FrozenState migrated = FrozenState.cached("migrated-postgres", sha256(schema), () -> {
                IsolatedEnvironment env = IsolatedEnvironment.builder()
                        .image(registry.name(DebianImages.POSTGRES))
                        .startImageCommand(Wait.forLogLine(READY))
                        .start();
                try {
                    env.writeString("/tmp/schema.sql", schema);
                    // as the image's user, postgres, over the server's unix socket; each -c and -f in turn
                    assertThat(env.exec(
                                    "psql",
                                    "-v",
                                    "ON_ERROR_STOP=1",
                                    "-c",
                                    "ALTER ROLE postgres PASSWORD 'test'",
                                    "-c",
                                    "ALTER SYSTEM SET fsync = off", // a test database need not survive a power cut
                                    "-c",
                                    "ALTER SYSTEM SET synchronous_commit = off",
                                    "-c",
                                    "ALTER SYSTEM SET full_page_writes = off",
                                    "-f",
                                    "/tmp/schema.sql"))
                            .succeeded();
                    assertThat(env.exec("pg_ctl", "stop")).succeeded(); // a clean shutdown: no recovery at each start
                    return env; // cached() freezes it and closes it
                } catch (RuntimeException | Error e) {
                    env.close();
                    throw e;
                }
            });
            // ready when a connection works, as Testcontainers' JDBC containers wait; that first connection (the
            // slowest: it rebuilds the server's relation cache file) is made before the test takes the database
            databases = migrated.pool(
                    2,
                    db -> db.startImageCommand(Wait.allOf(
                            Wait.forLogLine(READY), Wait.until("a JDBC connection", started -> {
                                try (Connection connection = connect(started)) {
                                    return connection.isValid(1);
                                }
                            }))));
        } finally {
            System.clearProperty(IsolatedConfiguration.REGISTRY_INSECURE);
        }
    }

    @AfterAll
    static void closePool() {
        if (databases != null) {
            databases.close(); // the databases still waiting; each test closed its own
        }
    }

    @Test
    void aliceSignsUp() throws SQLException {
        try (IsolatedEnvironment db = databases.take();
                Connection connection = connect(db)) {
            insertCustomer(connection, "alice@example.com");
            assertThat(emails(connection)).containsExactly("seed@example.com", "alice@example.com");
        }
    }

    @Test
    void aliceSignsUpInAnotherTest() throws SQLException {
        try (IsolatedEnvironment db = databases.take();
                Connection connection = connect(db)) {
            insertCustomer(connection, "alice@example.com"); // unique: it would fail if the other test's row were here
            assertThat(emails(connection)).containsExactly("seed@example.com", "alice@example.com");
        }
    }

    private static Connection connect(IsolatedEnvironment db) throws SQLException {
        return DriverManager.getConnection(
                "jdbc:postgresql://127.0.0.1:" + db.mappedPort(5432) + "/postgres", "postgres", "test");
    }

    private static void insertCustomer(Connection connection, String email) throws SQLException {
        try (PreparedStatement insert = connection.prepareStatement("INSERT INTO customers (email) VALUES (?)")) {
            insert.setString(1, email);
            insert.executeUpdate();
        }
    }

    private static List<String> emails(Connection connection) throws SQLException {
        List<String> emails = new ArrayList<>();
        try (PreparedStatement select = connection.prepareStatement("SELECT email FROM customers ORDER BY id");
                ResultSet rows = select.executeQuery()) {
            while (rows.next()) {
                emails.add(rows.getString(1));
            }
        }
        return emails;
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = PostgresFreshDatabasePerTests.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String sha256(String text) throws NoSuchAlgorithmException {
        return HexFormat.of()
                .formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    }
}

package dev.isolated.internal.registry;

import java.util.Optional;

/**
 * Looks up credentials in a JVM of its own, so that a test can give it a PATH holding a fake
 * {@code docker-credential-*} helper: {@code CredentialsMain <host>}; prints the source, then the user and secret.
 */
public final class CredentialsMain {

    private CredentialsMain() {}

    public static void main(String[] args) {
        Credentials credentials =
                Credentials.lookup(args[0], PullSettings.from(key -> Optional.empty(), System::getenv));
        System.out.println(credentials.source());
        System.out.println(credentials.username() + ":" + credentials.secret());
    }
}

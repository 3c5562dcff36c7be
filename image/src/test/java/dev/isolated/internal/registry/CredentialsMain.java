package dev.isolated.internal.registry;

import java.time.Duration;
import java.util.Optional;

/**
 * Looks up credentials in a JVM of its own, so that a test can give it a PATH holding a fake
 * {@code docker-credential-*} helper: {@code CredentialsMain <host> [<helper timeout in seconds>]}; prints the
 * source, then the user and secret, or the failure's message.
 */
public final class CredentialsMain {

    private CredentialsMain() {}

    public static void main(String[] args) {
        PullSettings settings = PullSettings.from(key -> Optional.empty(), System::getenv);
        Credentials credentials;
        try {
            credentials = args.length > 1
                    ? Credentials.lookup(args[0], settings, Duration.ofSeconds(Long.parseLong(args[1])))
                    : Credentials.lookup(args[0], settings);
        } catch (ImagePullException e) {
            System.out.println(e.getMessage());
            return;
        }
        System.out.println(credentials.source());
        System.out.println(credentials.username() + ":" + credentials.secret());
    }
}

package dev.isolated.internal.shard;

import dev.isolated.IsolatedConfiguration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One share of a suite split {@code total} ways: shard {@code index} (from 1) of {@code total}. */
record Shard(int index, int total) {
    private static final Pattern INDEX_OF_TOTAL = Pattern.compile("(\\d{1,9})/(\\d{1,9})");

    Shard {
        if (total < 1 || index < 1 || index > total) {
            throw new IllegalArgumentException("no shard " + index + " of " + total);
        }
    }

    /** Parses {@link IsolatedConfiguration#SHARD}'s {@code INDEX/TOTAL}, naming the key and the fix when it is not one. */
    static Shard parse(String value) {
        Matcher m = INDEX_OF_TOTAL.matcher(value.strip());
        if (m.matches()) {
            int index = Integer.parseInt(m.group(1));
            int total = Integer.parseInt(m.group(2));
            if (index >= 1 && index <= total) {
                return new Shard(index, total);
            }
        }
        throw new InvalidShardException(
                IsolatedConfiguration.SHARD + " '" + value + "' is not valid: expected INDEX/TOTAL"
                        + " with 1 <= INDEX <= TOTAL (shards are numbered from 1), e.g. -D"
                        + IsolatedConfiguration.SHARD + "=2/8");
    }

    @Override
    public String toString() {
        return index + "/" + total;
    }
}

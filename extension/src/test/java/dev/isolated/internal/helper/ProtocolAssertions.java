package dev.isolated.internal.helper;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.util.Optional;
import org.assertj.core.api.AbstractAssert;

/**
 * AssertJ assertions on the production {@link Frame} and {@link Fields}, failing with the whole frame or
 * record in the message. Static-import {@code assertThat} next to AssertJ's own.
 */
final class ProtocolAssertions {

    private ProtocolAssertions() {}

    static FrameAssert assertThat(Frame actual) {
        return new FrameAssert(actual);
    }

    static FieldsAssert assertThat(Fields actual) {
        return new FieldsAssert(actual);
    }

    /** Assertions on one frame: its type, id and payload. */
    static final class FrameAssert extends AbstractAssert<FrameAssert, Frame> {

        FrameAssert(Frame actual) {
            super(actual, FrameAssert.class);
        }

        FrameAssert hasType(FrameType type) {
            isNotNull();
            if (actual.type() != type) {
                failWithMessage(
                        "Expecting a frame of type <%s> but got:%n  <%s>", type, ProtocolClient.describe(actual));
            }
            return this;
        }

        FrameAssert hasId(int id) {
            isNotNull();
            if (actual.id() != id) {
                failWithMessage("Expecting a frame with id <%s> but got:%n  <%s>", id, ProtocolClient.describe(actual));
            }
            return this;
        }

        /** The payload, as UTF-8, is exactly {@code text}. */
        FrameAssert hasText(String text) {
            isNotNull();
            if (!new String(actual.payload(), UTF_8).equals(text)) {
                failWithMessage(
                        "Expecting a frame with the data <%s> but got:%n  <%s>", text, ProtocolClient.describe(actual));
            }
            return this;
        }

        /** @return assertions on the payload decoded as a record */
        FieldsAssert fields() {
            isNotNull();
            FieldsAssert fields = new FieldsAssert(actual.fields());
            return info.hasDescription() ? fields.as(info.description()) : fields;
        }
    }

    /** Assertions on a record, like AssertJ's map assertions; a repeated key counts with its first value. */
    static final class FieldsAssert extends AbstractAssert<FieldsAssert, Fields> {

        FieldsAssert(Fields actual) {
            super(actual, FieldsAssert.class);
        }

        FieldsAssert containsEntry(String key, String value) {
            isNotNull();
            if (!actual.get(key).equals(Optional.of(value))) {
                failWithMessage("Expecting the record%n  <%s>%nto contain <%s=%s>", actual, key, value);
            }
            return this;
        }

        FieldsAssert doesNotContainEntry(String key, String value) {
            isNotNull();
            if (actual.get(key).equals(Optional.of(value))) {
                failWithMessage("Expecting the record%n  <%s>%nnot to contain <%s=%s>", actual, key, value);
            }
            return this;
        }

        FieldsAssert containsKey(String key) {
            return containsKeys(key);
        }

        FieldsAssert containsKeys(String... keys) {
            isNotNull();
            for (String key : keys) {
                if (actual.get(key).isEmpty()) {
                    failWithMessage("Expecting the record%n  <%s>%nto contain the key <%s>", actual, key);
                }
            }
            return this;
        }

        FieldsAssert doesNotContainKey(String key) {
            isNotNull();
            if (actual.get(key).isPresent()) {
                failWithMessage("Expecting the record%n  <%s>%nnot to contain the key <%s>", actual, key);
            }
            return this;
        }
    }
}

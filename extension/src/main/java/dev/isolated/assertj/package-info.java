/**
 * AssertJ assertions on commands' results and on environments; start from
 * {@link dev.isolated.assertj.IsolatedAssertions}.
 */
package dev.isolated.assertj;

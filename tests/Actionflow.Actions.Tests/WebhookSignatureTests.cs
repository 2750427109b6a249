using System.Text;
using Actionflow.Actions.Webhook;

namespace Actionflow.Actions.Tests;

public sealed class WebhookSignatureTests
{
    // The test vector published with the Standard Webhooks reference implementations.
    private const string VectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string VectorId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const long VectorTimestamp = 1614265330;
    private const string VectorBody = "{\"test\": 2432232314}";
    private const string VectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    private static readonly byte[] VectorBodyBytes = Encoding.UTF8.GetBytes(VectorBody);

    [Fact]
    public void Sign_StandardWebhooksTestVector_MatchesTheReference()
    {
        Assert.Equal(VectorSignature, WebhookSignature.Sign(VectorSecret, VectorId, VectorTimestamp, VectorBody));
    }

    [Fact]
    public void Verify_StandardWebhooksTestVector_IsTrue()
    {
        Assert.True(WebhookSignature.Verify(VectorSecret, VectorId, "1614265330", VectorSignature, VectorBodyBytes));
    }

    [Fact]
    public void Verify_SeveralSignaturesOneValid_IsTrue()
    {
        Assert.True(WebhookSignature.Verify(VectorSecret, VectorId, "1614265330", "v1,bm9wZQ== v2,abc " + VectorSignature, VectorBodyBytes));
    }

    [Theory]
    [InlineData("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", VectorId, "1614265330", VectorBody)]
    [InlineData(VectorSecret, "msg_other", "1614265330", VectorBody)]
    [InlineData(VectorSecret, VectorId, "1614265331", VectorBody)]
    [InlineData(VectorSecret, VectorId, "1614265330", "{\"test\": 2432232315}")]
    [InlineData(VectorSecret, VectorId, "not-a-number", VectorBody)]
    public void Verify_AnyPartChanged_IsFalse(string secret, string id, string timestamp, string body)
    {
        Assert.False(WebhookSignature.Verify(secret, id, timestamp, VectorSignature, Encoding.UTF8.GetBytes(body)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")]
    [InlineData("v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")]
    [InlineData("v1,not base64")]
    public void Verify_MalformedSignatureHeader_IsFalse(string header)
    {
        Assert.False(WebhookSignature.Verify(VectorSecret, VectorId, "1614265330", header, VectorBodyBytes));
    }

    [Fact]
    public void Verify_TimestampOutsideTolerance_IsFalse()
    {
        var signedAt = DateTimeOffset.FromUnixTimeSeconds(VectorTimestamp);

        Assert.True(WebhookSignature.Verify(VectorSecret, VectorId, "1614265330", VectorSignature, VectorBodyBytes, signedAt.AddMinutes(4), WebhookSignature.DefaultTolerance));
        Assert.False(WebhookSignature.Verify(VectorSecret, VectorId, "1614265330", VectorSignature, VectorBodyBytes, signedAt.AddMinutes(6), WebhookSignature.DefaultTolerance));
        Assert.False(WebhookSignature.Verify(VectorSecret, VectorId, "1614265330", VectorSignature, VectorBodyBytes, signedAt.AddMinutes(-6), WebhookSignature.DefaultTolerance));
    }

    [Fact]
    public void DecodeKey_PlainSecret_IsItsUtf8Bytes()
    {
        Assert.Equal(Encoding.UTF8.GetBytes("plain-é"), WebhookSignature.DecodeKey("plain-é"));
    }

    [Theory]
    [InlineData("whsec_")]
    [InlineData("whsec_not*base64!LeakMe")]
    public void DecodeKey_WhsecNotBase64_ThrowsWithoutQuotingTheSecret(string secret)
    {
        var error = Assert.Throws<FormatException>(() => WebhookSignature.DecodeKey(secret));

        Assert.DoesNotContain("LeakMe", error.Message, StringComparison.Ordinal);
    }
}

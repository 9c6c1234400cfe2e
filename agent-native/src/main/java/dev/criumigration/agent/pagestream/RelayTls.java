package dev.criumigration.agent.pagestream;

import dev.criumigration.agent.protocol.TlsPem;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;

/**
 * The relay's TLS: TLS 1.3 only (JSSE), both sides authenticated by certificates of the migration's
 * own CA (the PEM texts CRIU's TLS would get). The dumping side also checks that the page server's
 * certificate names the address it dials.
 */
public final class RelayTls {
  private static final String PROTOCOL = "TLSv1.3";
  /** AES-128-GCM first: the faster of TLS 1.3's AEADs on CPUs with AES instructions, and strong enough. */
  private static final String[] CIPHER_SUITES = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"};
  private static final char[] NO_PASSWORD = new char[0];

  private final SSLContext context;

  private RelayTls(SSLContext context) {
    this.context = context;
  }

  /** From the CA certificate, this side's certificate and its PKCS#8 key; never logs them. */
  public static RelayTls of(TlsPem pem) throws GeneralSecurityException {
    CertificateFactory x509 = CertificateFactory.getInstance("X.509");
    X509Certificate ca = certificate(x509, pem.getCaCert());
    X509Certificate own = certificate(x509, pem.getCert());
    PrivateKey key = KeyFactory.getInstance(own.getPublicKey().getAlgorithm())
        .generatePrivate(new PKCS8EncodedKeySpec(der(pem.getKey(), "PRIVATE KEY")));
    KeyStore keys = emptyStore();
    keys.setKeyEntry("self", key, NO_PASSWORD, new Certificate[] {own});
    KeyStore trusted = emptyStore();
    trusted.setCertificateEntry("ca", ca);
    KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keyManagers.init(keys, NO_PASSWORD);
    TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trustManagers.init(trusted);
    SSLContext context = SSLContext.getInstance(PROTOCOL);
    context.init(keyManagers.getKeyManagers(), trustManagers.getTrustManagers(), new SecureRandom());
    return new RelayTls(context);
  }

  /** The dumping side: TLS over {@code plain} (connected to {@code host}); its read timeout bounds the handshake. */
  RelayWire client(Socket plain, String host) throws IOException {
    SSLEngine engine = context.createSSLEngine(host, ((InetSocketAddress) plain.getRemoteSocketAddress()).getPort());
    SSLParameters parameters = engine.getSSLParameters();
    parameters.setProtocols(new String[] {PROTOCOL});
    parameters.setCipherSuites(CIPHER_SUITES);
    parameters.setEndpointIdentificationAlgorithm("HTTPS");  // the page server's certificate names `host`
    engine.setSSLParameters(parameters);
    engine.setUseClientMode(true);
    return RelayWire.tls(plain, TlsStreams.handshake(engine, plain));
  }

  /** The page server's side: TLS over an accepted {@code plain}, the peer's certificate required. */
  RelayWire server(Socket plain) throws IOException {
    SSLEngine engine = context.createSSLEngine();
    SSLParameters parameters = engine.getSSLParameters();
    parameters.setProtocols(new String[] {PROTOCOL});
    parameters.setCipherSuites(CIPHER_SUITES);
    parameters.setUseCipherSuitesOrder(true);
    parameters.setNeedClientAuth(true);
    engine.setSSLParameters(parameters);
    engine.setUseClientMode(false);
    return RelayWire.tls(plain, TlsStreams.handshake(engine, plain));
  }

  private static X509Certificate certificate(CertificateFactory x509, String pem) throws GeneralSecurityException {
    return (X509Certificate) x509.generateCertificate(new ByteArrayInputStream(der(pem, "CERTIFICATE")));
  }

  private static byte[] der(String pem, String type) throws GeneralSecurityException {
    String begin = "-----BEGIN " + type + "-----";
    String end = "-----END " + type + "-----";
    int from = pem.indexOf(begin);
    int to = pem.indexOf(end);
    if (from < 0 || to < from) {
      throw new GeneralSecurityException("not a PEM " + type.toLowerCase(java.util.Locale.ROOT));
    }
    return Base64.getMimeDecoder().decode(pem.substring(from + begin.length(), to).getBytes(StandardCharsets.US_ASCII));
  }

  private static KeyStore emptyStore() throws GeneralSecurityException {
    KeyStore store = KeyStore.getInstance("PKCS12");
    try {
      store.load(null, null);
    } catch (IOException e) {
      throw new GeneralSecurityException(e);
    }
    return store;
  }
}

package dev.criumigration.migration.pagestream;

import dev.criumigration.agent.protocol.TlsPem;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;

/**
 * The certificates of one migration's page stream, made by the controller and thrown away after it: a
 * CA whose private key is never written anywhere, a certificate and key for the page server and one for
 * the dumping CRIU. ECDSA P-256, which CRIU's GnuTLS accepts.
 *
 * <p>CRIU checks the peer's certificate against the page server's address on both ends (the page
 * server against its own listening address), so both certificates name that address.
 */
public record PageStreamCertificates(String caCert, String serverCert, String serverKey, String clientCert,
                                     String clientKey) {
    /** Room for clocks that differ between the hosts, and for a three-step flow spread over days. */
    private static final Duration BACKDATE = Duration.ofHours(1);
    private static final Duration VALIDITY = Duration.ofDays(7);
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Issues the three certificates for a page server listening on {@code address} (an IP or a name). */
    public static PageStreamCertificates issue(String address) {
        try {
            Instant now = Instant.now();
            KeyPair ca = keyPair();
            X500Name caName = new X500Name("CN=criu-migration page stream CA " + serial().toString(16));
            X509v3CertificateBuilder caBuilder = builder(caName, caName, ca, now)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            new JcaX509ExtensionUtils().createSubjectKeyIdentifier(ca.getPublic()));
            String caPem = pem("CERTIFICATE", sign(caBuilder, ca));
            KeyPair server = keyPair();
            KeyPair client = keyPair();
            return new PageStreamCertificates(caPem,
                    leaf(caName, ca, server, address, KeyPurposeId.id_kp_serverAuth, now),
                    privateKeyPem(server),
                    leaf(caName, ca, client, address, KeyPurposeId.id_kp_clientAuth, now),
                    privateKeyPem(client));
        } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
            throw new IllegalStateException("making the page stream's certificates failed: " + e, e);
        }
    }

    /** What the page server uses; with {@code keepClient} it also keeps the dump's for a later step. */
    public TlsPem forPageServer(boolean keepClient) {
        TlsPem.Builder pem = TlsPem.newBuilder().setCaCert(caCert).setCert(serverCert).setKey(serverKey);
        if (keepClient) {
            pem.setPeerCert(clientCert).setPeerKey(clientKey);
        }
        return pem.build();
    }

    /** What the dumping CRIU uses. */
    public TlsPem forDump() {
        return TlsPem.newBuilder().setCaCert(caCert).setCert(clientCert).setKey(clientKey).build();
    }

    @Override
    public String toString() {
        return "PageStreamCertificates[keys hidden]"; // never log a key
    }

    private static String leaf(X500Name issuer, KeyPair ca, KeyPair subject, String address, KeyPurposeId purpose,
                               Instant now) throws GeneralSecurityException, OperatorCreationException, IOException {
        GeneralName name = isAddress(address) ? new GeneralName(GeneralName.iPAddress, address)
                : new GeneralName(GeneralName.dNSName, address);
        JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
        X509v3CertificateBuilder leaf = builder(issuer, new X500Name("CN=" + address), subject, now)
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose))
                .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(name))
                .addExtension(Extension.authorityKeyIdentifier, false,
                        extensions.createAuthorityKeyIdentifier(ca.getPublic()));
        return pem("CERTIFICATE", sign(leaf, ca));
    }

    private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair keys, Instant now) {
        return new JcaX509v3CertificateBuilder(issuer, serial(), Date.from(now.minus(BACKDATE)),
                Date.from(now.plus(VALIDITY)), subject, keys.getPublic());
    }

    private static byte[] sign(X509v3CertificateBuilder builder, KeyPair signer) throws OperatorCreationException,
            IOException {
        return builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())).getEncoded();
    }

    private static KeyPair keyPair() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return generator.generateKeyPair();
    }

    /**
     * PKCS#8 with the public key inside the EC key: GnuTLS (CRIU's TLS) refuses the shorter form Java
     * writes ("ASN1 parser: Element was not found").
     */
    private static String privateKeyPem(KeyPair keys) throws IOException {
        SubjectPublicKeyInfo publicKey = SubjectPublicKeyInfo.getInstance(keys.getPublic().getEncoded());
        ECPrivateKey inner = new ECPrivateKey(256, ((java.security.interfaces.ECPrivateKey) keys.getPrivate()).getS(),
                publicKey.getPublicKeyData(), null);
        return pem("PRIVATE KEY", new PrivateKeyInfo(publicKey.getAlgorithm(), inner).getEncoded());
    }

    private static BigInteger serial() {
        return new BigInteger(63, RANDOM).add(BigInteger.ONE);
    }

    /** An IPv4 or IPv6 literal (no name lookup). */
    private static boolean isAddress(String address) {
        if (!address.matches("[0-9.]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")) {
            return false;
        }
        try {
            return InetAddress.getByName(address) != null; // a literal is parsed, never resolved
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }
}

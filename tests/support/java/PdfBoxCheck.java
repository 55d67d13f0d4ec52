// An independent signature check with Apache PDFBox 2 and BouncyCastle, after PDFBox's
// ShowSignature example. Prints one line per signature field:
//   OK <field> <subfilter> <whole|revision>     (whole: the byte range ends at the end of file)
//   FAIL <field> <reason>
// then one line for the document security store: "DSS certs=N crls=M" or "NODSS".
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.Security;
import java.security.cert.CertificateFactory;
import java.util.Arrays;
import java.util.Collection;

import org.apache.pdfbox.cos.COSArray;
import org.apache.pdfbox.cos.COSBase;
import org.apache.pdfbox.cos.COSDictionary;
import org.apache.pdfbox.cos.COSName;
import org.apache.pdfbox.cos.COSObject;
import org.apache.pdfbox.cos.COSStream;
import org.apache.pdfbox.io.IOUtils;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.interactive.digitalsignature.PDSignature;
import org.apache.pdfbox.pdmodel.interactive.form.PDSignatureField;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.SignerInformationVerifier;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.tsp.TimeStampToken;
import org.bouncycastle.util.Store;
import org.bouncycastle.util.encoders.Hex;

public class PdfBoxCheck {
    static final String SHA256 = "2.16.840.1.101.3.4.2.1";

    static class Failure extends Exception {
        Failure(String reason) { super(reason); }
    }

    public static void main(String[] args) throws Exception {
        Security.addProvider(new BouncyCastleProvider());
        byte[] file = Files.readAllBytes(Paths.get(args[0]));
        try (PDDocument doc = PDDocument.load(file)) {
            for (PDSignatureField field : doc.getSignatureFields()) {
                String name = field.getFullyQualifiedName().replace(' ', '_');
                PDSignature sig = field.getSignature();
                if (sig == null) {
                    continue;  // an empty field is not a signature
                }
                try {
                    System.out.println("OK " + name + " " + check(file, sig));
                } catch (Failure e) {
                    System.out.println("FAIL " + name + " " + e.getMessage());
                } catch (Exception e) {
                    System.out.println("FAIL " + name + " " + e.getClass().getSimpleName() + ": " + e.getMessage());
                }
            }
            System.out.println(dss(doc));
        }
    }

    /** The subfilter and coverage of a valid signature; throws Failure otherwise. */
    static String check(byte[] file, PDSignature sig) throws Exception {
        int[] br = sig.getByteRange();
        if (br == null || br.length != 4) {
            throw new Failure("ByteRange is not four numbers");
        }
        int end = br[2] + br[3];
        if (br[0] != 0 || br[1] <= 0 || br[2] <= br[1] || br[3] < 0 || end > file.length) {
            throw new Failure("ByteRange " + Arrays.toString(br) + " is out of the file");
        }
        // The gap must be exactly the /Contents hex string, nothing else left unsigned.
        if (file[br[1]] != '<' || file[br[2] - 1] != '>') {
            throw new Failure("the unsigned gap is not the /Contents hex string");
        }
        byte[] contents = sig.getContents();
        String gap = new String(file, br[1] + 1, br[2] - br[1] - 2, "US-ASCII").trim();
        byte[] gapBytes = Hex.decode(gap);
        if (!Arrays.equals(gapBytes, contents)) {
            throw new Failure("the gap differs from the /Contents PDFBox parsed");
        }
        String coverage;
        if (end == file.length) {
            coverage = "whole";
        } else if (endsRevision(file, end)) {
            coverage = "revision";
        } else {
            throw new Failure("ByteRange ends at " + end + ", neither the end of file nor of a revision");
        }
        byte[] signed = sig.getSignedContent(file);
        String subFilter = sig.getSubFilter();
        byte[] cms = contents;  // BouncyCastle reads the DER and ignores the zero padding
        if ("ETSI.RFC3161".equals(subFilter)) {
            TimeStampToken token = new TimeStampToken(new CMSSignedData(cms));
            X509CertificateHolder cert = signerCertificate(token.getCertificates(), token.toCMSSignedData().getSignerInfos().getSigners().iterator().next());
            token.validate(verifier(cert));
            String alg = token.getTimeStampInfo().getMessageImprintAlgOID().getId();
            if (!SHA256.equals(alg)) {
                throw new Failure("message imprint is not SHA-256 but " + alg);
            }
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(signed);
            if (!Arrays.equals(digest, token.getTimeStampInfo().getMessageImprintDigest())) {
                throw new Failure("message imprint differs from SHA-256 of the signed bytes");
            }
        } else {
            CMSSignedData data = new CMSSignedData(new CMSProcessableByteArray(signed), cms);
            Collection<SignerInformation> signers = data.getSignerInfos().getSigners();
            if (signers.size() != 1) {
                throw new Failure(signers.size() + " signers, expected one");
            }
            SignerInformation signer = signers.iterator().next();
            X509CertificateHolder cert = signerCertificate(data.getCertificates(), signer);
            if (!signer.verify(verifier(cert))) {
                throw new Failure("signature does not verify");
            }
        }
        return subFilter + " " + coverage;
    }

    static SignerInformationVerifier verifier(X509CertificateHolder cert) throws Exception {
        return new JcaSimpleSignerInfoVerifierBuilder().setProvider("BC").build(cert);
    }

    @SuppressWarnings("unchecked")
    static X509CertificateHolder signerCertificate(Store<X509CertificateHolder> certs, SignerInformation signer) throws Failure {
        Collection<X509CertificateHolder> matches = certs.getMatches(signer.getSID());
        if (matches.isEmpty()) {
            throw new Failure("the signer's certificate is not in the CMS");
        }
        return matches.iterator().next();
    }

    /** True when offset follows "%%EOF" and at most an end of line: a revision ends there. */
    static boolean endsRevision(byte[] file, int offset) {
        int i = offset;
        while (i > 0 && (file[i - 1] == '\n' || file[i - 1] == '\r') && offset - i < 2) {
            i--;
        }
        return i >= 5 && new String(file, i - 5, 5, java.nio.charset.StandardCharsets.US_ASCII).equals("%%EOF");
    }

    static String dss(PDDocument doc) throws Exception {
        COSBase base = doc.getDocumentCatalog().getCOSObject().getDictionaryObject(COSName.getPDFName("DSS"));
        if (!(base instanceof COSDictionary)) {
            return "NODSS";
        }
        COSDictionary dss = (COSDictionary) base;
        CertificateFactory factory = CertificateFactory.getInstance("X.509");
        int certs = 0;
        for (byte[] der : streams(dss, "Certs")) {
            factory.generateCertificate(new ByteArrayInputStream(der));
            certs++;
        }
        int crls = 0;
        for (byte[] der : streams(dss, "CRLs")) {
            factory.generateCRL(new ByteArrayInputStream(der));
            crls++;
        }
        return "DSS certs=" + certs + " crls=" + crls;
    }

    static java.util.List<byte[]> streams(COSDictionary dss, String key) throws Exception {
        java.util.List<byte[]> out = new java.util.ArrayList<>();
        COSBase base = dss.getDictionaryObject(COSName.getPDFName(key));
        if (base instanceof COSArray) {
            for (COSBase item : (COSArray) base) {
                COSBase object = item instanceof COSObject ? ((COSObject) item).getObject() : item;
                if (object instanceof COSStream) {
                    try (java.io.InputStream in = ((COSStream) object).createInputStream()) {
                        out.add(IOUtils.toByteArray(in));
                    }
                }
            }
        }
        return out;
    }
}

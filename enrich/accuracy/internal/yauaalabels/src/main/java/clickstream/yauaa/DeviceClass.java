package clickstream.yauaa;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import nl.basjes.parse.useragent.UserAgent;
import nl.basjes.parse.useragent.UserAgentAnalyzer;

/**
 * Reads one user agent per line on standard input and writes Yauaa's
 * DeviceClass for each on its own line of standard output, in the same
 * order. The first line of output is the Yauaa version.
 */
public final class DeviceClass {
    private DeviceClass() {
    }

    public static void main(String[] args) throws Exception {
        UserAgentAnalyzer analyzer = UserAgentAnalyzer.newBuilder()
            .withFields(UserAgent.DEVICE_CLASS)
            .withCache(0)
            .hideMatcherLoadStats()
            .build();

        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        String version = UserAgentAnalyzer.class.getPackage().getImplementationVersion();
        out.println(version == null ? "unknown" : version);

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            out.println(analyzer.parse(line).getValue(UserAgent.DEVICE_CLASS));
        }
        out.flush();
        if (out.checkError()) {
            throw new IllegalStateException("writing standard output failed");
        }
    }
}

package org.libstek;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One Java peer of tests/cross_lang_test.sh, one command per run:
 *
 * <pre>
 *   init PATH N     create a store with a space and a note; print N invite tokens
 *   serve PATH      serve it on 127.0.0.1; print the port, then, at "stop" or
 *                   end of input, stop and print the state hash
 *   join PATH TOKEN PORT   join by invitation, write a note, sync; print the hash
 *   sync PATH PORT  sync once; print the state hash
 * </pre>
 * Exit 0 on success, 1 with the error on stderr otherwise.
 */
public final class CrossPeer {
  public static void main(String[] args) throws Exception {
    try {
      run(args);
    } catch (Exception e) {
      System.err.println("CrossPeer: " + e);
      System.exit(1);
    }
  }

  private static void run(String[] a) throws Exception {
    switch (a[0]) {
      case "init":
        try (Store s = Store.open(a[1])) {
          s.createSpace("cross");
          s.put("note", Store.newId(), Map.of("from", "java 1", "n", 1L));
          for (int i = 0; i < Integer.parseInt(a[2]); i++)
            System.out.println(s.createInvite(Duration.ofMinutes(10)));
        }
        break;
      case "serve":
        try (Server srv = Server.start(a[1], 0)) {
          System.out.println(srv.port());
          System.out.flush();
          BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
          for (String line; (line = in.readLine()) != null && !line.equals("stop"); ) {
            // wait
          }
        }
        try (Store s = Store.open(a[1])) {
          System.out.println(s.stateHash());
        }
        break;
      case "join":
        try (Store s = Store.open(a[1])) {
          s.acceptInviteAsync(a[2], "127.0.0.1", Integer.parseInt(a[3])).get(60, TimeUnit.SECONDS);
          s.put("note", Store.newId(), Map.of("from", "java 2"));
          s.syncAsync("127.0.0.1", Integer.parseInt(a[3]), null).get(60, TimeUnit.SECONDS);
          System.out.println(s.stateHash());
        }
        break;
      case "sync":
        try (Store s = Store.open(a[1])) {
          s.syncAsync("127.0.0.1", Integer.parseInt(a[2]), null).get(60, TimeUnit.SECONDS);
          System.out.println(s.stateHash());
        }
        break;
      default:
        throw new IllegalArgumentException("unknown command " + a[0]);
    }
  }
}

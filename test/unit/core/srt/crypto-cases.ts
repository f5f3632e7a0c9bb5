/**
 * SRT encryption vectors, REAL packets from libsrt 1.5.1 (Debian srt-tools
 * `srt-live-transmit`, GnuTLS flavour), for core/srt/crypto.ts. One table per
 * kind, each with several uses (STYLE.md §7): the KM messages drive the
 * parser, the unwrap (right and wrong passphrase), the byte-for-byte writer
 * (AES key wrap is deterministic) and the bit-flip / truncation properties;
 * the captures drive the decryptor, key refresh included. Hex has one
 * comment per field (`#` to end of line).
 *
 * Recipe, so the bytes can be re-made (STYLE.md §7, "Fixtures from a
 * recipe"): the live tests at the end of crypto.test.ts ARE the capture.
 *
 *     mkdir /tmp/srtcap && SRT_CRYPTO_CAPTURE=/tmp/srtcap npx tap test/unit/core/srt/crypto.test.ts
 *
 * writes every live capture as JSON. In each, a Node UDP socket on
 * 127.0.0.1 plays an SRT listener just enough (INDUCTION answer with the
 * magic and cookie 0x5eed1e55; CONCLUSION answer with HSRSP and a KMRSP
 * echoing the KMREQ, our socket ID 0x1a2b3c4d; each KMREQ control packet
 * echoed as KMRSP; a full ACK per data packet, without which libsrt never
 * refreshes its keys) for
 *
 *     srt-live-transmit -a:no -t:15 udp://127.0.0.1:<feed>
 *       'srt://127.0.0.1:<port>?mode=caller&latency=120&passphrase=0123456789abcdef&pbkeylen=<16|24|32>'
 *
 * (the AES-256 run with `&kmrefreshrate=8&kmpreannounce=2` appended; libsrt
 * logged "setting SRTO_KMPREANNOUNCE=0x3"), and once the handshake is
 * answered sends datagram k = {@link fedDatagram}(k), k = 0, 1, 2 …, to
 * `<feed>` every 5 ms. srt-live-transmit sends datagram k as the data packet
 * with sequence number ISN + k, so each packet's plaintext is known
 * beforehand. The tables below keep, of each capture, the CONCLUSION, the
 * first KMREQ control packets and a few data packets around each key change
 * (the rest decrypt the same way, and are checked live). The tests
 * themselves need no libsrt.
 *
 * What the captures showed: the KM message is in draft §3.2.2 order both in
 * the handshake block and in a USER_DEFINED (0x7FFF) control packet of
 * subtype 3; a refresh announces BOTH keys (KK 11, even first) with the same
 * salt; data switch from KK 01 to 10 and back; the counter block is
 * salt XOR sequence number at octets 10–13 (crypto.ts module doc).
 */

import { KmCipher, type SrtKeyMaterial } from '../../../../core/srt/crypto.js';
import { hex } from './srt-cases.js';

/** The passphrase of every capture. */
export const CAPTURE_PASSPHRASE = '0123456789abcdef';

/**
 * Datagram k fed to srt-live-transmit: 1 TS packet, or 7 (the most that fit
 * an SRT live payload) when k % 3 = 2, so that payloads of 188 and 1316
 * octets are both covered. Each TS packet is a null packet (PID 0x1FFF) whose
 * payload says "RCST", k (32 bits), its index j, then bytes counting on.
 */
export function fedDatagram(k: number): Buffer {
  const n = k % 3 === 2 ? 7 : 1;
  const b = Buffer.alloc(n * 188);
  for (let j = 0; j < n; j++) {
    const o = j * 188;
    b[o] = 0x47;
    b[o + 1] = 0x1f;
    b[o + 2] = 0xff;
    b[o + 3] = 0x10 | ((k + j) & 0xf); // payload only | continuity counter
    b.write('RCST', o + 4, 'latin1');
    b.writeUInt32BE(k, o + 8);
    b[o + 12] = j;
    for (let i = 13; i < 184; i++) b[o + 4 + i] = (k * 31 + j * 7 + i) & 0xff;
  }
  return b;
}

/** A KM message libsrt sent, what it parses to, and the keys it unwraps to with `passphrase`. */
export interface KmCase {
  name: string;
  bytes: Buffer;
  passphrase: string;
  km: SrtKeyMaterial;
  /**
   * The stream keys: what crypto.ts unwrapped, and proven right by the
   * capture's data packets decrypting to the datagrams fed.
   */
  keys: { even?: Buffer; odd?: Buffer };
}

/** A captured packet; `datagram` is k for a data packet carrying fedDatagram(k). */
export interface CapturedPacket {
  bytes: Buffer;
  datagram?: number;
}

/** Packets of one libsrt session in arrival order: the CONCLUSION first. */
export interface CaptureCase {
  name: string;
  passphrase: string;
  keyLength: number;
  packets: CapturedPacket[];
}

export const kmCases: KmCase[] = [
  {
    name: 'libsrt slt-aes128: KMREQ of the CONCLUSION (pbkeylen=16)',
    bytes: hex(`
      12 20 29 01   # S0 V1 PT2 KM message | sign 0x2029 "HAI" | resv | KK 01 even key
      00 00 00 00   # KEKI 0
      02 00 02 00   # cipher 2 AES-CTR | auth 0 | SE 2 MPEG-TS/SRT | resv
      00 00 04 04   # resv | SLen/4 4 (128-bit salt) | KLen/4 4 (16-octet keys)
      bf 2b 95 88   # salt (16 octets; the last 8 are the PBKDF2 salt)
      5d 18 52 2b   #
      54 87 5b 22   #
      31 b2 21 52   #
      0f 93 50 75 61 e7 11 ef   # ICV (8) + even key (16), RFC 3394 wrapped
      aa 97 89 a8 d5 e6 a6 06   #
      64 f1 4f d5 51 1b 5b f5   #
    `),
    passphrase: CAPTURE_PASSPHRASE,
    km: {
      version: 1, keyFlags: 1, keki: 0, cipher: KmCipher.AES_CTR, auth: 0, streamEncapsulation: 2, keyLength: 16,
      salt: hex('bf2b95885d18522b54875b2231b22152'),
      wrappedKeys: hex('0f93507561e711efaa9789a8d5e6a60664f14fd5511b5bf5'),
    },
    keys: { even: hex('d5a45dbae14241a093d8c8bdb8a96ce7') },
  },
  {
    name: 'libsrt slt-aes192: KMREQ of the CONCLUSION (pbkeylen=24)',
    bytes: hex(`
      12 20 29 01   # S0 V1 PT2 KM message | sign 0x2029 "HAI" | resv | KK 01 even key
      00 00 00 00   # KEKI 0
      02 00 02 00   # cipher 2 AES-CTR | auth 0 | SE 2 MPEG-TS/SRT | resv
      00 00 04 06   # resv | SLen/4 4 (128-bit salt) | KLen/4 6 (24-octet keys)
      90 89 ee e5   # salt (16 octets; the last 8 are the PBKDF2 salt)
      3e 0d a2 37   #
      a7 15 77 b8   #
      69 52 88 ec   #
      8c 2e 8c 48 82 39 b7 58   # ICV (8) + even key (24), RFC 3394 wrapped
      a2 2c 6a b9 6e d3 50 8f   #
      02 b2 b6 d4 8e b9 0f 32   #
      56 8a 81 c2 64 73 39 48   #
    `),
    passphrase: CAPTURE_PASSPHRASE,
    km: {
      version: 1, keyFlags: 1, keki: 0, cipher: KmCipher.AES_CTR, auth: 0, streamEncapsulation: 2, keyLength: 24,
      salt: hex('9089eee53e0da237a71577b8695288ec'),
      wrappedKeys: hex('8c2e8c488239b758a22c6ab96ed3508f02b2b6d48eb90f32568a81c264733948'),
    },
    keys: { even: hex('26e39b00e0a613e886d6c9d443f5047a13c9d57eae2c544e') },
  },
  {
    name: 'libsrt slt-aes256-refresh: KMREQ of the CONCLUSION (pbkeylen=32)',
    bytes: hex(`
      12 20 29 01   # S0 V1 PT2 KM message | sign 0x2029 "HAI" | resv | KK 01 even key
      00 00 00 00   # KEKI 0
      02 00 02 00   # cipher 2 AES-CTR | auth 0 | SE 2 MPEG-TS/SRT | resv
      00 00 04 08   # resv | SLen/4 4 (128-bit salt) | KLen/4 8 (32-octet keys)
      b4 18 bc f0   # salt (16 octets; the last 8 are the PBKDF2 salt)
      18 60 f0 56   #
      50 12 58 95   #
      00 45 88 77   #
      46 7b 86 04 c5 8b 65 24   # ICV (8) + even key (32), RFC 3394 wrapped
      3a 03 42 25 8c 09 f4 7a   #
      df 8b f1 f5 31 f6 ce f0   #
      98 44 0a 85 6e 4f ba 02   #
      4a a3 c5 db d2 ba 73 88   #
    `),
    passphrase: CAPTURE_PASSPHRASE,
    km: {
      version: 1, keyFlags: 1, keki: 0, cipher: KmCipher.AES_CTR, auth: 0, streamEncapsulation: 2, keyLength: 32,
      salt: hex('b418bcf01860f0565012589500458877'),
      wrappedKeys: hex('467b8604c58b65243a0342258c09f47adf8bf1f531f6cef098440a856e4fba024aa3c5dbd2ba7388'),
    },
    keys: { even: hex('bcc82bb98b971f31189cf6c98a6e92a2a17dfe53e40170384af6b513bfde8b0d') },
  },
  {
    name: 'libsrt slt-aes256-refresh: KMREQ control packet announcing the next key (both keys)',
    bytes: hex(`
      12 20 29 03   # S0 V1 PT2 KM message | sign 0x2029 "HAI" | resv | KK 11 both keys
      00 00 00 00   # KEKI 0
      02 00 02 00   # cipher 2 AES-CTR | auth 0 | SE 2 MPEG-TS/SRT | resv
      00 00 04 08   # resv | SLen/4 4 (128-bit salt) | KLen/4 8 (32-octet keys)
      b4 18 bc f0   # salt (16 octets; the last 8 are the PBKDF2 salt)
      18 60 f0 56   #
      50 12 58 95   #
      00 45 88 77   #
      04 a5 5e 72 3b 9b ae 8c   # ICV (8) + even key (32) + odd key (32), RFC 3394 wrapped
      55 ff 39 52 d8 dc 44 44   #
      a7 81 a0 aa 3e b0 67 a8   #
      af ba c9 02 50 fc 6b 9d   #
      00 71 50 54 a4 0f 54 49   #
      5b 48 ff 93 a6 34 35 85   #
      14 2c 0f 5b cd 62 ab a6   #
      18 a7 a9 54 ce ae 5e 3d   #
      47 66 35 6b de 0b a4 2b   #
    `),
    passphrase: CAPTURE_PASSPHRASE,
    km: {
      version: 1, keyFlags: 3, keki: 0, cipher: KmCipher.AES_CTR, auth: 0, streamEncapsulation: 2, keyLength: 32,
      salt: hex('b418bcf01860f0565012589500458877'),
      wrappedKeys: hex('04a55e723b9bae8c55ff3952d8dc4444a781a0aa3eb067a8afbac90250fc6b9d00715054a40f54495b48ff93a6343585142c0f5bcd62aba618a7a954ceae5e3d4766356bde0ba42b'),
    },
    keys: { even: hex('bcc82bb98b971f31189cf6c98a6e92a2a17dfe53e40170384af6b513bfde8b0d'), odd: hex('470590eb93b92a016ae64fe9a9a92dd059beb9c23e19ecf1537dd98ef75fad00') },
  },
];

export const captureCases: CaptureCase[] = [
  {
    name: 'libsrt slt-aes128: srt-live-transmit pbkeylen=16',
    passphrase: CAPTURE_PASSPHRASE,
    keyLength: 16,
    packets: [
      { bytes: hex(`
        80 00 00 00   # F1 | HANDSHAKE | subtype 0
        00 00 00 00   # type-specific 0
        00 00 0a d8   # timestamp 2776 µs
        00 00 00 00   # destination socket ID 0
        00 00 00 05   # version 5
        00 02 00 03   # encryption 2 = AES-128 (pbkeylen=16) | flags HSREQ + KMREQ
        31 d9 e2 4b   # 0 | ISN 836362827
        00 00 05 dc   # MTU 1500
        00 00 20 00   # flow window 8192
        ff ff ff ff   # CONCLUSION
        27 5c 5c 6e   # SRT socket ID of the caller
        5e ed 1e 55   # SYN cookie echoed
        01 00 00 7f   # peer IP 127.0.0.1 (word-reversed)
        00 00 00 00   #
        00 00 00 00   #
        00 00 00 00   #
        00 01 00 03   # extension HSREQ | 3 words
        00 01 05 01   #   SRT version 1.5.1
        00 00 00 bf   #   flags 0xbf
        00 78 00 78   #   TSBPD 120 ms | 120 ms
        00 03 00 0e   # extension KMREQ | 14 words: the KM message, unreversed
          12 20 29 01   #   S0 V1 PT2 KM message | sign 0x2029 "HAI" | resv | KK 01 even key
          00 00 00 00   #   KEKI 0
          02 00 02 00   #   cipher 2 AES-CTR | auth 0 | SE 2 MPEG-TS/SRT | resv
          00 00 04 04   #   resv | SLen/4 4 (128-bit salt) | KLen/4 4 (16-octet keys)
          bf 2b 95 88   #   salt (16 octets; the last 8 are the PBKDF2 salt)
          5d 18 52 2b   #  
          54 87 5b 22   #  
          31 b2 21 52   #  
          0f 93 50 75 61 e7 11 ef   #   ICV (8) + even key (16), RFC 3394 wrapped
          aa 97 89 a8 d5 e6 a6 06   #  
          64 f1 4f d5 51 1b 5b f5   #  
      `) },
      {
        datagram: 0,
        bytes: hex(`
        31 d9 e2 4b   # F0 | packet sequence number 836362827 = ISN + 0
        c8 00 00 01   # PP 11 solo | O0 | KK 01 even key | R0 | message number 1
        00 00 37 a8   # timestamp 14248 µs
        1a 2b 3c 4d   # destination socket ID: our listener
        68553c8006441fcbff852732ce1e2667   # AES-CTR ciphertext of fedDatagram(0): 1 × 188 octets
        f144dcf6dbea8b7e7bc981ee64e6a560
        132b4440a67a707abfc0854f041a6e77
        652323fa4acfd1e5bd59ada6170f3209
        366eb700c86b4c60bd3b91f19935fab3
        e6e48dc73e58e46f727e83e556c805c1
        3f06288ee12fc1d17d365656904368d5
        a3c5492413fe23a0a3a8989b5a0e588e
        03c228c2b56642050ec20beeaacb5e5d
        289908b76646b0f0385b81f9d23fe4e9
        da04f2afa34c76e5e95fbca516d02de3
        912d8c143aead6ab7da22c70
        `),
      },
      {
        datagram: 1,
        bytes: hex(`
        31 d9 e2 4c   # F0 | packet sequence number 836362828 = ISN + 1
        c8 00 00 02   # PP 11 solo | O0 | KK 01 even key | R0 | message number 2
        00 00 37 ba   # timestamp 14266 µs
        1a 2b 3c 4d   # destination socket ID: our listener
        3ba38311e83d6c76beff6120f9e2a03b   # AES-CTR ciphertext of fedDatagram(1): 1 × 188 octets
        c59563e47672a951fdec3fae40daff78
        8f764140b83bc085b0cbbc4eb78418b3
        7a89c58066c8efdeffb29777bc14d744
        01d693d3c5baeb1e9ed019045f7d676e
        efd732afea3597d1d60c31cd2ef720b5
        2d503060f420ef990046046cfa9a2795
        801b666098311c61003394f586ffa93b
        0435103f09e1fcfd723f9fb484e94591
        5b81f0872944a3a4f6a1525473a8da8a
        56597d7e42698cb6015f71ae62758ce8
        6d606bc8ed5204b60e2e5963
        `),
      },
      {
        datagram: 2,
        bytes: hex(`
        31 d9 e2 4d   # F0 | packet sequence number 836362829 = ISN + 2
        c8 00 00 03   # PP 11 solo | O0 | KK 01 even key | R0 | message number 3
        00 00 63 2d   # timestamp 25389 µs
        1a 2b 3c 4d   # destination socket ID: our listener
        0ac455e0f540e8c711d4d125cb978685   # AES-CTR ciphertext of fedDatagram(2): 7 × 188 octets
        4aac012a6f311926aacb4a05096ee64c
        de93db8ecbb9a54efc364204bf66c7e3
        2e8910a5b4e2475e8594ca4f646b6fe8
        6f56ecb4ad40ca5d37d2b4df57a8f38d
        a48d9ac8b3e874f2c8879893a09ea1f8
        25417ddea0bcde6fce422e4104b3d07b
        8f3062ddd5a6dc9d95b6e74f8764e3b7
        c010853faa553b909103680b1ccbfd0c
        acd8c1f1aa5485ce183c676355c04fd6
        8d4017db78b27f607bdbbd273a2e7a3c
        d2a1fded0e7d626691ada7fbbb290857
        156a03e8842c6f31fb252e804c1fee45
        288ceec1961806f8c06248aa3762f168
        e0daf8599a6a9993b417751bf80542e5
        83cbbf10a9c9fe639cccb79ec414356c
        4f7346abb0f464ed0602083ab2ea5deb
        5a5309a4fdf40d4f5857e675c376765f
        8d78dfefeb90bd13116ac99719274aae
        0699ee24c2ee6cb5bf6d0fbf83419408
        c619af8cb3e8bfe8d396d2129e5ee617
        ae06bb4409e0448db4fb90191e6f779b
        9e26f606d8aea98ba5316f0514b483e0
        460fb02ecb9ff62f411974047ced94d5
        1fabe5b4eb573da7a711a39609df5468
        9a69b5d24976e50c6ab0920ffece1a91
        dd9965b13c0356051b37bd042171c87e
        da5a48b147de3157d849669836b8e157
        20997e86f0b7515ea794b2d795d909fd
        41787a1c9710c469ad5e86322f5d77f9
        407eecee2ae92dad6eb1085529a3ebc0
        144db0c481aa0ee86915f47d64cc5963
        572a935a520bf68f60f5aab0fdf2c8b6
        9abe5fa9ff712a160f132d2acaea4745
        8ed398560842d635cd0f921e076e5858
        48c6e4fa71b534c2cdeab2bd61679276
        624abae16cd686257ec410292d57c6ad
        e0b835a96e367ededb4abb11119f3e72
        352818b9100da667d2595152b394a27a
        ba011cf5636cfc3498710bf46fc7ea23
        c27ba7917c2d100d4580e404ffab7975
        3bf0760c6d733a4887f049aba040f02d
        137ed1e17d2c21fe983ea9ebe6e087bf
        d379344a660a66e9f5c54f520262d5a1
        dddb3672039f5ce2203f369041c44e13
        99861da9dba46f6a37efa18a4748412d
        fa396c7ea6adf5867cc990e52dc67b05
        ee82d42b8f6327dc6b71e66d7b6fcdf2
        04566e12016b21b11acbeccc5f2f269f
        f845b7d247f6ffb57820f0154faea229
        2b0f6072f5e9a60894f536b916ef9b43
        cb212a66b432c663b7921bad8cf971a1
        87269ff3b0c5fad708340a164e39a7c5
        2e4da2248e86335db5e76208082a87ba
        ec6c3801f285ef7dc8bac97b6a10bcf2
        9f3732a9186022fef9b0a8cde5ef394c
        16f55c584cd88e069d067fc8a6d03b70
        7eb3ce7bf96e1c8fa51d4685c69dc9c9
        f0b664c84e400f9aa790488a8746bbe3
        d54578a6d155818fc306f40d65d8232c
        a30666014ccdafe1e3bb74607800ab7c
        f26a33a2395b294017e4ac4c8a81ab7e
        36fe1dca9d959d70df4c5555796a81da
        88312ceb0c8dc6940bac0911a9612cad
        60b3a9e9692d260b36674e027b18e84a
        08737b19335e94bebfe9ae62be83ab97
        00e205b8383e408c959ea7068a0e4579
        0d8dd2fcbeccf57125525634bb22adfb
        db2f9eaf017c5f3f37791f30fe89f7de
        83501d14a58d8d3e1083c0aa4e06cf29
        f2f347516612b102d2a769912103e054
        4baabd81e09849a15de80c06caaa2f13
        986304e3620edeb0c92591ecd279670e
        aaa026c33974680f946c00962d36ced8
        dbe3a05e94ae6d63c35730650bb0ebdb
        3664d8d54add763ab184d9e68c5a5e58
        7cbdbaee70085842a47bde0c95b888bb
        82ab7210e13451e30852976cd3265caf
        b1892da7957e181efe090c285da8bec4
        f8c97f0d8d7d3a79f7a875a0e74d52eb
        6a4f24945b6c39bfd2027f15eefd3d64
        7cbd33034ea4c6a7d9bd5a35cd777777
        581e1084
        `),
      },
      {
        datagram: 3,
        bytes: hex(`
        31 d9 e2 4e   # F0 | packet sequence number 836362830 = ISN + 3
        c8 00 00 04   # PP 11 solo | O0 | KK 01 even key | R0 | message number 4
        00 00 63 38   # timestamp 25400 µs
        1a 2b 3c 4d   # destination socket ID: our listener
        4ca22b6b761dd20f935acf821083669d   # AES-CTR ciphertext of fedDatagram(3): 1 × 188 octets
        e02df10b9a6318a8ffc423fc27c46e05
        7c951235b2f0bc77ede52ee424ab2351
        3a8f21856236ad3598b4738c6dc7ba3a
        66a2a4c8e7b961d802911a1747b594d9
        384ccc27faaf2e16e08437a856bbddb3
        08ee365a63337271e558c3d5c08ab25c
        ee56a08e584da3b76c613d44e914c810
        b48494f17545765a25a9bc03b1ed7e18
        2114b497b09e1b2aa41ab226001dce7e
        684bdeb68f6bd1ddaed14aae9948ad80
        76d43c6c918a55dc6b13ab7f
        `),
      },
    ],
  },
  {
    name: 'libsrt slt-aes192: srt-live-transmit pbkeylen=24',
    passphrase: CAPTURE_PASSPHRASE,
    keyLength: 24,
    packets: [
      { bytes: hex(`
        80 00 00 00   # F1 | HANDSHAKE | subtype 0
        00 00 00 00   # type-specific 0
        00 00 09 10   # timestamp 2320 µs
        00 00 00 00   # destination socket ID 0
        00 00 00 05   # version 5
        00 03 00 03   # encryption 3 = AES-192 (pbkeylen=24) | flags HSREQ + KMREQ
        3d 47 4d 72   # 0 | ISN 1028083058
        00 00 05 dc   # MTU 1500
        00 00 20 00   # flow window 8192
        ff ff ff ff   # CONCLUSION
        2e 5e ee cb   # SRT socket ID of the caller
        5e ed 1e 55   # SYN cookie echoed
        01 00 00 7f   # peer IP 127.0.0.1 (word-reversed)
        00 00 00 00   #
        00 00 00 00   #
        00 00 00 00   #
        00 01 00 03   # extension HSREQ | 3 words
        00 01 05 01   #   SRT version 1.5.1
        00 00 00 bf   #   flags 0xbf
        00 78 00 78   #   TSBPD 120 ms | 120 ms
        00 03 00 10   # extension KMREQ | 16 words: the KM message, unreversed
          12 20 29 01   #   S0 V1 PT2 KM message | sign 0x2029 "HAI" | resv | KK 01 even key
          00 00 00 00   #   KEKI 0
          02 00 02 00   #   cipher 2 AES-CTR | auth 0 | SE 2 MPEG-TS/SRT | resv
          00 00 04 06   #   resv | SLen/4 4 (128-bit salt) | KLen/4 6 (24-octet keys)
          90 89 ee e5   #   salt (16 octets; the last 8 are the PBKDF2 salt)
          3e 0d a2 37   #  
          a7 15 77 b8   #  
          69 52 88 ec   #  
          8c 2e 8c 48 82 39 b7 58   #   ICV (8) + even key (24), RFC 3394 wrapped
          a2 2c 6a b9 6e d3 50 8f   #  
          02 b2 b6 d4 8e b9 0f 32   #  
          56 8a 81 c2 64 73 39 48   #  
      `) },
      {
        datagram: 0,
        bytes: hex(`
        3d 47 4d 72   # F0 | packet sequence number 1028083058 = ISN + 0
        c8 00 00 01   # PP 11 solo | O0 | KK 01 even key | R0 | message number 1
        00 00 36 0f   # timestamp 13839 µs
        1a 2b 3c 4d   # destination socket ID: our listener
        18d41185d0c9f27eaafa55d0ce5bd9b2   # AES-CTR ciphertext of fedDatagram(0): 1 × 188 octets
        78607f3a76613d17872152d9b7d6025c
        e36078f8b8944ed252be335eec070dbd
        23baf0691f1fd64bffc904645ba6b458
        b3f9dc790bd9028879120b5ccba72f00
        938db1e7a5ce1a5e3b5d56c2970111b4
        7ba53ff4fa50629edf6558eeb721d34a
        1b435345507b8ac0819bcdf26b397cc1
        05f10a2e86083f871e660c9a07654f39
        01fedfd5df93b258f4f54e767e9af76c
        d1018383ca44c62d6a831a2d550429e0
        8f0046c1a8838c1c5efa3f7c
        `),
      },
      {
        datagram: 1,
        bytes: hex(`
        3d 47 4d 73   # F0 | packet sequence number 1028083059 = ISN + 1
        c8 00 00 02   # PP 11 solo | O0 | KK 01 even key | R0 | message number 2
        00 00 36 23   # timestamp 13859 µs
        1a 2b 3c 4d   # destination socket ID: our listener
        dd48220ee0e3452bf250dd16efcfe13a   # AES-CTR ciphertext of fedDatagram(1): 1 × 188 octets
        9a0ef8b8b6e0960bb0dfb6ee30589fc7
        639c93e1d5aa0576b400fb721e210840
        cd2163f19e4a5566adc242e03dd195ec
        2b20c1bc7538d2e0591f6d1944f2c3d3
        ea4573ba6adf3ddac34440e8ad89e5f0
        1934a258778a9fd2be3baf6f71d9096e
        984c219f179f3724fcd0bfcfee9a4830
        7b6b5cc91f1398cd195f8449d4181891
        b3d9f9700c4da4da648e86cc3312033a
        1bac0823ac04b0daa65178af3e98a3c0
        72fec493fffeb1f4062222cb
        `),
      },
      {
        datagram: 2,
        bytes: hex(`
        3d 47 4d 74   # F0 | packet sequence number 1028083060 = ISN + 2
        c8 00 00 03   # PP 11 solo | O0 | KK 01 even key | R0 | message number 3
        00 00 5f ba   # timestamp 24506 µs
        1a 2b 3c 4d   # destination socket ID: our listener
        cd829564e50ae00a16f0734a5af25f2b   # AES-CTR ciphertext of fedDatagram(2): 7 × 188 octets
        ebaf83c8584ca1279e8128b959d6e720
        5bac2bbf5092b12e40aea3479aa08e9f
        1ef587f7f2562a923dbf642939064413
        8894dc852f6512660d14ae7e3b6d7432
        27776833422a82cfdee622a3ec987694
        5fa135a50712dd6cb58f78aad82493fd
        ea8d0635a4c90be0b39f7486d827a0cf
        940a6eab7c9fb1a867e7fe6754d3fbde
        ba44c5009cf3f9206046b428ff52ca82
        42df2df0ae0c12b0730ba3f82c69baeb
        f5806099d92dc29836054aa886e40e30
        daf07795bf843f15d11d447e7c6c4065
        8c5f6c80c7bfb276d8dcb7a2cc288011
        0afcb3ea3d25bacdf50a55fe8fa2c8c5
        20a61b66d13b648c918dd4865c46cdaf
        5a8e25260ee90215099dd39f0521fa22
        aa66312b896ec2d28dd142aa5fde464e
        7556578b31dfb7b74027a40af4e2a409
        5591117e73ad24fa02a4a3cf95b7b141
        ef41c4eac16b5ca22e70d69452c92085
        48a33192aae4161163c64fcf705f9e25
        2b8593981c3c82e023718ed1ad0e6ca8
        8af4dd63d623053a28903d87b0553cc3
        189cf4b253a7893005442105397c7a99
        6a912eb5c9ca2b7f7f4a865bc640956f
        13b4edffbc48ba6be01a4cdb89fc3890
        1fb9a79115d4d4504dc8ab327fe45202
        509a0c9c3f8d34838e1ce53e5e3745a4
        132561dbaad8886e982eccf76b9c40e3
        83c8dd4a404fe7eff5daae2712eceeb4
        0ab54de858d3cb6dbf2c0b02acb096b0
        a2a4bf59bc26e7cd4736e302e8fea40d
        676fb01cc9538b6ff261a6c9eb521a2d
        59ce87856e870e8eeedcee34b9df2bcc
        efcf2bf4105fe3dad67dfe5aca798ac6
        977bad11ab2f30f3778978508aff83a6
        73a43df816c66a1b86f350ca6cd495fa
        8472a8972707ebdc83dd0599b2d2ebac
        2050b4f3b952bcc964839232d8d4a184
        ca447c662b405dc231e7291b0bc2baa3
        7a3b1437c9a2d7b835b2bb1c4566b0ea
        608c1eefa50d18becfd703927f60ebb8
        b36dc030f9d25400281cfbcd062080eb
        aa9045a5a091365d2a97f3f2275e3a6d
        8d7aad46132c146cce57df94fe02d172
        0266043bceb920e23fb2805717998975
        415a9a91dd7a62cdcdcfd69e26783aa5
        bb3d7006f7b4fdbecde5c78787f92f42
        b429921c7b8d0704c403382b7ff29666
        1642dc8e1c90e0ba2d25fe22ef6d554c
        96beb1c2e02a4e106b608f84044734e8
        bab5573856f823dc34231ce1fcd435d9
        77f0afe234271c89901d85a98b98efc4
        3f18b217601963b6b57b115de96d1984
        a83b26881c3f99297f2229238066e6fc
        03bf2e7fe96113ea3f4af2dff5be9559
        4d4ad4a44c6a5b22ce17aac9e8b5f628
        0f7d615c17d8dde795a24d6e51459a7e
        aa007ad701bfb1a4fce96842de820e56
        db37ff7b8deb4eac115f83a7dc76f8a9
        1671ddc6bdd910632dee9e5cf177c3c0
        c80defd7ec7ab42bfc433b1dfdea21cd
        cd1877b712442993eaab601d7b999d02
        278a28fadeaf140de98abb395ade48ac
        42697535cd1432c2e7262d33dd40a03a
        e73a08c06c07ecd486865a6a9c88e424
        111fa600bd9c8c0add5a6ba4365ce7b6
        90538cc6164f536effdbbd03dda8ccb2
        a5e881057684845d914e459412d40f81
        88ec127d55b812eac06ceb16477d898e
        5dd305c6219d56bb8e5e292da3a0f83a
        d1108c70d48c5dbbfa073bb9aca2f003
        38dce5b93955d2d20008b4d57e81ba86
        d1fc6e8106c19d2c06f97c1d4f7d5db9
        1610c7add3a6eca3f6d682493c2040e3
        7411ad6afb1b9f0635344b367657121a
        9386f92cc2ddd0f308d740b93c47513b
        acbdc571686abab925c6e49b31a368e6
        25b695f8955d1262226874fca3172bc5
        c603d9fa28ab6f927b2f40bbdde46865
        842349ae21b0953b14baa801933bf2cf
        f9276395
        `),
      },
    ],
  },
  {
    name: 'libsrt slt-aes256-refresh: srt-live-transmit pbkeylen=32, kmrefreshrate=8, kmpreannounce=2 (libsrt made it 3)',
    passphrase: CAPTURE_PASSPHRASE,
    keyLength: 32,
    packets: [
      { bytes: hex(`
        80 00 00 00   # F1 | HANDSHAKE | subtype 0
        00 00 00 00   # type-specific 0
        00 00 06 47   # timestamp 1607 µs
        00 00 00 00   # destination socket ID 0
        00 00 00 05   # version 5
        00 04 00 03   # encryption 4 = AES-256 (pbkeylen=32) | flags HSREQ + KMREQ
        1d d2 8b 01   # 0 | ISN 500337409
        00 00 05 dc   # MTU 1500
        00 00 20 00   # flow window 8192
        ff ff ff ff   # CONCLUSION
        0f 74 50 0c   # SRT socket ID of the caller
        5e ed 1e 55   # SYN cookie echoed
        01 00 00 7f   # peer IP 127.0.0.1 (word-reversed)
        00 00 00 00   #
        00 00 00 00   #
        00 00 00 00   #
        00 01 00 03   # extension HSREQ | 3 words
        00 01 05 01   #   SRT version 1.5.1
        00 00 00 bf   #   flags 0xbf
        00 78 00 78   #   TSBPD 120 ms | 120 ms
        00 03 00 12   # extension KMREQ | 18 words: the KM message, unreversed
          12 20 29 01   #   S0 V1 PT2 KM message | sign 0x2029 "HAI" | resv | KK 01 even key
          00 00 00 00   #   KEKI 0
          02 00 02 00   #   cipher 2 AES-CTR | auth 0 | SE 2 MPEG-TS/SRT | resv
          00 00 04 08   #   resv | SLen/4 4 (128-bit salt) | KLen/4 8 (32-octet keys)
          b4 18 bc f0   #   salt (16 octets; the last 8 are the PBKDF2 salt)
          18 60 f0 56   #  
          50 12 58 95   #  
          00 45 88 77   #  
          46 7b 86 04 c5 8b 65 24   #   ICV (8) + even key (32), RFC 3394 wrapped
          3a 03 42 25 8c 09 f4 7a   #  
          df 8b f1 f5 31 f6 ce f0   #  
          98 44 0a 85 6e 4f ba 02   #  
          4a a3 c5 db d2 ba 73 88   #  
      `) },
      {
        datagram: 0,
        bytes: hex(`
        1d d2 8b 01   # F0 | packet sequence number 500337409 = ISN + 0
        c8 00 00 01   # PP 11 solo | O0 | KK 01 even key | R0 | message number 1
        00 00 37 fc   # timestamp 14332 µs
        1a 2b 3c 4d   # destination socket ID: our listener
        b677be24fe5ab8ef10b1b06de46e4ae8   # AES-CTR ciphertext of fedDatagram(0): 1 × 188 octets
        0a1ebc2e6929575b1dc2901926fa8cc0
        a5b946059d001503ceb06f0654178020
        4aa6df73f60cb35b96d60937622e310a
        87d65bef8e7fec710e28f7499972c5fb
        522bf97b44692116592a683842833fb6
        de9380c05134945ba297fada443eebaf
        7fe6a48349e8bf3ce2f6fa800193ffe3
        0e135ecc8c8857a7cda9e947f54a4ee1
        0818c75a8e91fe9987304351d2666f9d
        8ba1b3572deba7017a465abe622c2cd0
        3ee5d3894440c0b08f988dcc
        `),
      },
      {
        datagram: 1,
        bytes: hex(`
        1d d2 8b 02   # F0 | packet sequence number 500337410 = ISN + 1
        c8 00 00 02   # PP 11 solo | O0 | KK 01 even key | R0 | message number 2
        00 00 39 de   # timestamp 14814 µs
        1a 2b 3c 4d   # destination socket ID: our listener
        38d22792b8569b735ab4509ac571a7f2   # AES-CTR ciphertext of fedDatagram(1): 1 × 188 octets
        b29d353c316e1d61f8c5d5f27cae7a44
        d860954622d4423a95fdbaf35fd27f1b
        75b39284f273f19ec13e9498ba4abeae
        1b346cbbbca94cd0fda53cc43e3ae355
        e9f46e85908120a0ffa6814acc84779a
        3443f514f191567b4656df1543822719
        52242cc7a5c6b93f30a5eb311ecbaf14
        638d1fe43b2905f7e83d1b8703651476
        505f04c28f09138dbeb537110ee80679
        f93e08a624da2fbb85ebdf171dbfd2be
        6d3f6e37aaaa7161ea6c4ecc
        `),
      },
      { bytes: hex(`
        ff ff 00 03   # F1 | control type 0x7FFF user-defined | subtype 3 SRT_CMD_KMREQ
        00 00 00 00   # type-specific 0
        00 00 8e 50   # timestamp 36432 µs
        1a 2b 3c 4d   # destination socket ID: our listener
        12 20 29 03   # S0 V1 PT2 KM message | sign 0x2029 "HAI" | resv | KK 11 both keys
        00 00 00 00   # KEKI 0
        02 00 02 00   # cipher 2 AES-CTR | auth 0 | SE 2 MPEG-TS/SRT | resv
        00 00 04 08   # resv | SLen/4 4 (128-bit salt) | KLen/4 8 (32-octet keys)
        b4 18 bc f0   # salt (16 octets; the last 8 are the PBKDF2 salt)
        18 60 f0 56   #
        50 12 58 95   #
        00 45 88 77   #
        04 a5 5e 72 3b 9b ae 8c   # ICV (8) + even key (32) + odd key (32), RFC 3394 wrapped
        55 ff 39 52 d8 dc 44 44   #
        a7 81 a0 aa 3e b0 67 a8   #
        af ba c9 02 50 fc 6b 9d   #
        00 71 50 54 a4 0f 54 49   #
        5b 48 ff 93 a6 34 35 85   #
        14 2c 0f 5b cd 62 ab a6   #
        18 a7 a9 54 ce ae 5e 3d   #
        47 66 35 6b de 0b a4 2b   #
      `) },
      {
        datagram: 15,
        bytes: hex(`
        1d d2 8b 10   # F0 | packet sequence number 500337424 = ISN + 15
        d0 00 00 10   # PP 11 solo | O0 | KK 10 odd key | R0 | message number 16
        00 01 61 4b   # timestamp 90443 µs
        1a 2b 3c 4d   # destination socket ID: our listener
        111daa73699d92da3a6a2b0ab6b5a84b   # AES-CTR ciphertext of fedDatagram(15): 1 × 188 octets
        b2344d60a5bd7defcb27088cf3552f5e
        e3119d796c6f63703b2370daa2e1d481
        4f07085251e1bb4b5b15e0fb86220e6d
        723e4f1b2b93a3b1bf3338d3f80774bf
        e465e6d3eb1336a07fbd68837613a0d5
        5234593d435520b7e559cc1c70cb0230
        45136a78ba4fc1ff2d9bb6a512dd6bad
        15f1ad05f3b6c012a5023b95d0d30978
        3e63095ee3581bead95d7216982d3a93
        5949201c76f4491b7c83f59bb064e07c
        e368a3931cc7c5bbd4a2958e
        `),
      },
      {
        datagram: 16,
        bytes: hex(`
        1d d2 8b 11   # F0 | packet sequence number 500337425 = ISN + 16
        d0 00 00 11   # PP 11 solo | O0 | KK 10 odd key | R0 | message number 17
        00 01 89 5e   # timestamp 100702 µs
        1a 2b 3c 4d   # destination socket ID: our listener
        2582e218748e3a882ee81aa40453fc7a   # AES-CTR ciphertext of fedDatagram(16): 1 × 188 octets
        bca2793d4ed620a9239977efdb768601
        ed3b56aa25a27832d529d25481021a6f
        1c493e1f04d49021ab539b5e2dc50660
        aa8ce1328a91661d90db1271d7b461b9
        4732703768c0c9e87cb54bcdf552276e
        14d4166cceeafbbd5a0952dbfa70e6f8
        71bdd84c6d9c82077960a2a8ace773e5
        332624efe095371c2a9e57f3eef5012e
        aa00306fd7b67b6711c5e4a62544088c
        ffde8ffcc77fbadc718e28ed369431e5
        5659bc12ec24e9b05dd7660c
        `),
      },
      {
        datagram: 17,
        bytes: hex(`
        1d d2 8b 12   # F0 | packet sequence number 500337426 = ISN + 17
        d0 00 00 12   # PP 11 solo | O0 | KK 10 odd key | R0 | message number 18
        00 01 8a b6   # timestamp 101046 µs
        1a 2b 3c 4d   # destination socket ID: our listener
        a7492bd6ec95e8512f76463c3ecc7c57   # AES-CTR ciphertext of fedDatagram(17): 7 × 188 octets
        053dcb3bbab47bc722b89201964f5e95
        61f7ed850f134b3c16329ec36140b370
        6393609e52a8766585be9dfc1c03b7ab
        6ea4bc2ebfe0b2ab1257cd413eac11f5
        6546f923b0f4e4287ad916f036f6ce12
        2455e32250934cf30c5ab52a63bca81c
        8c11ae238659144dd97f5c9caaf6c545
        fd79de6ca118733f0a0415337059efc7
        29120fc528b6af805da2a091014c9d00
        bff7e3c4bd787e7ba3e48fea76ef7c92
        44bd5a9975b602e5a5b9792887987717
        58fa07ab93c7ccf782e07d8d26b3e094
        41611623067797f6adb8da3125e3c459
        35f2ae6e15f5c13773c5d4a79f0948cf
        7cc60e2c1fdc1562464b2398b9e74865
        7064f19485f08a40f7433671c0d531bd
        31923dee39cb510344d68e3f6f274ed3
        c3b51feaf127eea334146c9cc1bfa1d4
        343102f0f29803bbc66ccbd7a7376a6e
        02066b58977bb08763c9cba00f464519
        228e0e550591c14581a00c0d4ae6cec2
        85fe716a0d708e180b456e160c468586
        2216c1a98ebcbfac7cc5c67679fcc36f
        560ed3f9ad3eb702938f06b0a215d57e
        da7e532c0edda87067b1cac250ecabb0
        aeeae38c050e2ac68690892717224c61
        b05ad2e8e5766fe7f8a4b5c7129d2864
        6a9d4efed51c7ee2405b597d040b7254
        545b947dc9f1e98eb639ce20076da847
        c34a3cc31db63c8b0c5365ab7fd5300f
        5ddb32a85f2cfab3bd7ea202a1fb3a74
        500f5387ad3b5dea7036ca834aae77a7
        8cca5093deea54963829ce66a8af7489
        e50a096ce50a76619e51ee89b460e2c5
        30309ae01b03527a5e0fefd51a67e0c4
        d9e7aba467e41a988b547bd1977641c8
        c1a583de42f3b796f7d2076b2e5402b8
        a9b5b3061f4f125528a40c6fec292a2e
        86aa72992a6fd730e6a6cb8078b8f89c
        ab7521902d149360a42251b750343865
        48a000bbf4ad6fc4f91e0a18dfac69ea
        7be776762af5518af70da835486e44bc
        0ed4821f1c5480807251e55306708bcc
        3f37948ad9144f44429dadcb075248fe
        033356eb5471a0711e5d6610c463cb30
        53ad368218349d6bc64287c76d55ce97
        48162228962ee808d557976e1a3aa811
        767565633b8b44258b669d83cf0818cd
        7f5bdc47c1ea83f82db0fd1bc76453d2
        e3b90a7a8a06dcd18a9e8ed1a45eaec6
        f0507e793d7e277dac3b854d96c56e26
        0c548acbb6fe805114396f47ac473311
        7c807ff79e402d853701ca1fa96aea9b
        cf0fb780eadf86d2d6b34e05919df1f9
        ec1b49d5ba0bb9dd932afa32c8657a85
        7077db9e607d0198d4692c9896941652
        56853497129544d1faf23db536483c8e
        01afbaf7099532d808b501fccb50bda4
        a257476d36c308860d02f873a7bdd05b
        8b90a3d3f2001cfe7c441a496dba1fcb
        990e714aec8bf731733ba361eb008770
        3aca3ad30c9e9a08814b3ec86c9cf4a5
        aa5c12a4b0ef759db5579774246be7e8
        0b2e3b9d95d747b8916ac2c89882a749
        6351ccf4ee711af05483fe25f351e641
        27f07f97d6c0715ef186662b8a9146c7
        ccffb449e3ea1e79346a595c5e0be8a9
        04e7b7e40812566212e3b42ea4221f22
        a90cb5981fdcac7bad89b4bb779282b7
        11b364850d5409a87d44b7ff5ed885ef
        467a587fb0bf1473442d606e691b52a1
        365f52693734ef8c8c850d5cb41a5328
        68cfb46dc58c8f0574bce17446e51573
        364a7472f75fecb7ea540070ada7ab88
        1d0a24e4378d424f89d685e4924c633b
        2dc2ad50e813bde47894002000693606
        1c4ef23b0164df7ebccbfe35920e1f06
        9f0e25e611c6521278522e8c73f2fc70
        8ce13d6c2fdbf37179da1fa5aae23423
        50889d32b530d718819c8e64085ee139
        1a21dedf7d44d8185bc69f45cecf47f0
        16816fb1
        `),
      },
      { bytes: hex(`
        ff ff 00 03   # F1 | control type 0x7FFF user-defined | subtype 3 SRT_CMD_KMREQ
        00 00 00 00   # type-specific 0
        00 01 de 18   # timestamp 122392 µs
        1a 2b 3c 4d   # destination socket ID: our listener
        12 20 29 03   # S0 V1 PT2 KM message | sign 0x2029 "HAI" | resv | KK 11 both keys
        00 00 00 00   # KEKI 0
        02 00 02 00   # cipher 2 AES-CTR | auth 0 | SE 2 MPEG-TS/SRT | resv
        00 00 04 08   # resv | SLen/4 4 (128-bit salt) | KLen/4 8 (32-octet keys)
        b4 18 bc f0   # salt (16 octets; the last 8 are the PBKDF2 salt)
        18 60 f0 56   #
        50 12 58 95   #
        00 45 88 77   #
        7c 45 73 f1 fa 57 a7 b1   # ICV (8) + even key (32) + odd key (32), RFC 3394 wrapped
        25 02 c1 3d 33 15 83 8e   #
        e6 36 8a 2c 20 b0 29 6c   #
        c0 9b d5 8f 64 75 4c 0d   #
        9c c3 47 10 97 b9 e0 06   #
        fc a0 ab 23 4f 50 cc 15   #
        59 7f 8d 1e 7b 83 92 24   #
        e4 13 c4 c7 36 1a 5d 1d   #
        fb e8 21 7c 8a f5 30 75   #
      `) },
      {
        datagram: 35,
        bytes: hex(`
        1d d2 8b 24   # F0 | packet sequence number 500337444 = ISN + 35
        c8 00 00 24   # PP 11 solo | O0 | KK 01 even key | R0 | message number 36
        00 03 05 d6   # timestamp 198102 µs
        1a 2b 3c 4d   # destination socket ID: our listener
        5d36336c153508e3d63cd1e7f1c6206c   # AES-CTR ciphertext of fedDatagram(35): 7 × 188 octets
        a764263040b59cbdc3f05b9c27d39564
        8fa6051553f0ab47a603884c5763349c
        5de56f7cf627d0de865cd7feb906ef12
        d5e2ab489e992cc6936ee8b35c40b380
        27596713ad7705c5c6ac2734e6486884
        57035b24532aa50a59fbc64c55c4817e
        32ef404b2e3ea1239baf14584dbdd758
        c23b1b8e6958243fd724cb9261133eba
        60e28d2011f44ad8d91228df7b2be4a3
        26ae10444659c868a15890a1e5148c45
        64780673a04bb549c6589a31ace5d451
        30be6c019d00caa651e93dcdbeb18303
        d31d3d5f0bef70a5b5515cec659a7e1f
        2b6f5d0671e18b0eb1dce8b21f4d7b0d
        eb05fdc08b8032bcc80845b3044bbf98
        883ba1fecb8c23acdaf4d3ae999dde85
        ebf77410abac054cd01c30d844266b51
        a14f6cfc2f6ed55b35685e5f92fa1f2a
        a4effb7cf6b5ee7b0cfd4782eeff7bbe
        f143869c866f0fc8e5fcd1b07f6da730
        7210dbbef19196e1fb34fc521c41fb5a
        fa9cc9d2953d73c0110ebbf2fca84cb4
        33d8326e1932641cae55d59a8d88b26a
        acb92129d811404c76d92d1e51c186c5
        9608f67e6fae225a3d8138974e854ff0
        9788e906bf87e3d065c24fd8a80158da
        335e5e6fc26ed4b63229f74e92f21c88
        52222f042ab80f59bff8deaa3fadd7e9
        9863f3a10a9f2aa5bd2df8ecb900fe8e
        dad533577e123b751c8f49b8ea91878c
        4f5cd88f82712ab07cfeeb9308c788ce
        5e731043b18327af055f34ce0f8365f5
        3e4b7febde51bbe64e567bb284cff1eb
        637bfde2213d08fe4e974a550917a001
        d0616a19e7f55d886f7c901ef22dfd85
        7f915879c3de6aa11f01051eecc6ce53
        2c42c64ca206a30a007870044dfc3aa9
        8ca4d0a4e5ee3b03d01d74fcbcf07e89
        bd343c1e8171a3337c3a0aa65e7e5319
        f8d3041cacb6bfa08340e6953a159fd4
        ecf449649227bf8bb9ab542a3f9ea6e8
        272ba430f032c5a6104ce1f28a064119
        a41a486dd8f34be98b01ef52baec4f94
        8a463cfe463829f40103fbec51cdb8de
        07d43f8837876de21decd20b955c8879
        46f1fbe6dec04c0352b187aa1c9d97dd
        6e51b097ccda79c2100f3c95aa18aaeb
        9e4f48765c24cf4bfe5a9de84e09e987
        0d2cb07cde9a17b002b0591b43c223c8
        a774d2d7d4f71db7187fc4784bb54581
        11678d229d11b28349e021ccce384104
        c8f36115e121d566c49366e4650f156e
        d08e4e709988b1fa00479a5e46607ec2
        71ed1375549e49b18dbb565a96d08434
        8d2c7c8be950c6f5e0f242fafb4f0f58
        dfc7f0ef42203b603abf49cd7c89a3e7
        c68ad2187a29e31d1f4a7fdb80559305
        4b2f1c0644ed934044c42fa932fc74e7
        435703c3b0898b06d8a092574060058c
        546e8c5f2c16b526eca341a834cf6709
        258c8d28532cd7c9fc37bf8ec89c0b77
        2bba577628b7a37e959407bedfc31a79
        bf539493f2cadbaef46808157456fba6
        2a3e939db5d930bd4063653dc00c28d4
        0adf8cb18a761bdcdec75b8077a87fec
        198953e78e8073a25dad68ddaa2e2a77
        96d20e45c2d70799a21b89345dd77dd2
        9861819103a69145f405e970fb6f19b0
        9286319d1b671c73e25169b58d181cc4
        bcfcba6e34c3c5b41ec5330c83235a92
        1231cf1721150a14b9cf1310702d78cf
        740c642d610a878a6de2b88cca7569ad
        cbe87b0d7afa8b63f49b3c5933e90224
        b83335f77f0e4c581938e62e4b502d0d
        70a0bd21844f7bb4ac105ff05ebb3aa1
        74b6cfef47ac57688fbd2c1aca37a6c1
        222941b597b26f13d2f097ac1118bc5b
        77f507a01f9216883e0b7002298b042e
        7a13fd034793521045a9f3adea6d7be2
        4e982ee781d457d9d3ac3fc4b3c96ff4
        31ce70e33508a8948c9bf44a73774bf7
        c44eb480
        `),
      },
      {
        datagram: 36,
        bytes: hex(`
        1d d2 8b 25   # F0 | packet sequence number 500337445 = ISN + 36
        c8 00 00 25   # PP 11 solo | O0 | KK 01 even key | R0 | message number 37
        00 03 2e ee   # timestamp 208622 µs
        1a 2b 3c 4d   # destination socket ID: our listener
        d3dc715072aa5ab3160c40945d3e4661   # AES-CTR ciphertext of fedDatagram(36): 1 × 188 octets
        ff999a63797ff64cabd5323d30f72b2a
        16abf6f85d7b807184b067e1b0663f47
        d58bf43acc7d9d616782b99fa6ac0f62
        d24fcc69711e6eac3b3a7bd814ebbd4e
        76d4a0d2bd26cfbf39a923a17cadb33e
        1c398a6804b1d3e0d5d5128d5006c4b1
        f5b4b3a7c961e9736a3c3ac567d2dab8
        2bf80713c6f5a5f7606b2bd0d7987eab
        8c1c50e56baa2bd547931bf71f09cd60
        4b04700e2ee3ee0d463fdd312df6412a
        ca21e1482d6f7ce6a6d8a070
        `),
      },
    ],
  },
];

// Package ocsys is the OpenConfig view of the device: /system/ntp of
// openconfig-system 0.16.1 (yang/openconfig, with ntpagent's deviations in
// ntpagent-openconfig-deviations) over the native tree of ntpagent-ntp.
//
// The rules of the translation, which the README's "Models" section repeats
// for users:
//
//   - /system/ntp/servers/server[address] is the unicast server
//     (association-type SERVER) or unicast peer (PEER) of that address in the
//     public VPN instance. openconfig-system 0.16.1 has no network instance:
//     associations in other VPN instances are not in the view, and no edit
//     through it touches them. POOL is refused.
//   - port, version, iburst and prefer are the association's port, version,
//     iburst and preferred. What the view has no leaf for (minpoll, maxpoll,
//     preempt, burst, source interface, the association's key) keeps its
//     value when an entry is edited through the view, also when its
//     association-type changes; an entry created through the view takes the
//     defaults.
//   - /system/ntp/ntp-keys/ntp-key[key-id] is the authentication key of that
//     id; ids above 65535 (the view's uint16) are not in the view. key-type
//     is the MAC algorithm (NTP_AUTH_MD5, and the four identities of the
//     deviations module); key-value is the key as the device stores it
//     (cipher form). A key created through the view is trusted (OpenConfig
//     has no untrusted keys); an existing key keeps its trust.
//   - config/enable-ntp-auth is /ntp/authentication/enable. config/enabled
//     is always true: the NTP service cannot be stopped, and false is
//     refused.
//   - State (in <get>): /system/ntp/state (enabled, enable-ntp-auth,
//     auth-mismatch from the authentication-failures counter) and each
//     server's state from its association: stratum, offset, root-delay (the
//     round-trip delay to the server), root-dispersion (the peer
//     dispersion), all in milliseconds to the nanosecond, and poll-interval
//     in seconds.
//
// The package translates trees only: it holds no state, touches no
// datastore and writes no XML (package view and xmlcodec do).
package ocsys

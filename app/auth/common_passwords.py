"""Passwords that top the published leak statistics (international lists and the 2011 Chinese
site leaks), lower-cased. Only entries the other rules would let through matter (8+ characters,
two character classes); a few that they already refuse are kept so the list reads as it is
published. Compared case-insensitively after NFKC (app/auth/passwords.py)."""

COMMON_PASSWORDS = frozenset("""
password password1 password12 password123 password1234 passw0rd p@ssw0rd p@ssword pa$$word
12345678 123456789 1234567890 0123456789 87654321 987654321 11111111 00000000 88888888
a1234567 a12345678 a123456789 abc12345 abc123456 abcd1234 abcd12345 1234abcd 123456abc
123456a. 123456aa aa123456 aa12345678 123abc123 qq123456 qq1234567 123456qq 123qwe123
1qaz2wsx 1qaz2wsx3edc 1q2w3e4r 1q2w3e4r5t 1q2w3e4r5t6y q1w2e3r4 q1w2e3r4t5 zaq12wsx
qwerty12 qwerty123 qwerty1234 qwerty123456 qwert123 qwer1234 1234qwer 123qweasd qweasd123
qwe12345 qwe123456 asd12345 asd123456 zxc12345 zxc123456 zxcvbnm1 zxcvbnm123 asdf1234
1234asdf asdfgh12 qazwsx123 qazwsxedc123 abc123abc a1b2c3d4 a1b2c3d4e5 1a2b3c4d
iloveyou1 iloveyou2 iloveyou! iloveu123 woaini1314 woaini520 woaini123 5201314a 1314520a
woaini5201314 wo123456 aini1314 a5201314 5201314qq qq5201314
welcome1 welcome123 welcome@123 admin123 admin1234 admin@123 administrator1 root1234
root12345 test1234 test12345 guest123 user1234 login123 letmein1 letmein123 changeme1
changeme123 default1 secret123 secret12 master123 master12 super123 superman1 batman123
monkey123 dragon123 shadow123 sunshine1 princess1 football1 baseball1 soccer123 hockey123
michael1 jordan23 charlie1 trustno1 starwars1 computer1 internet1 freedom1 whatever1
pokemon123 liverpool1 chelsea1 arsenal1 samsung1 samsung123 google123 apple123 iphone123
huawei123 xiaomi123 taobao123 alibaba123 baidu123 tencent123 china123 china1234 beijing2008
beijing123 shanghai123 zhang123 wang1234 li123456 liu123456 chen123456 yang123456
abc@123 abc@1234 abc#123 pass1234 pass@123 pass@word1 password! password@1 password#1
qwerty!1 qwerty@123 1qaz@wsx 1qaz!qaz 1qazxsw2 2wsx3edc 3edc4rfv !qaz2wsx !qaz1qaz
hello123 hello1234 helloworld1 hello@123 love1234 lovely123 mylove123 baby1234
summer2024 summer2025 winter2024 spring2024 autumn2024 2024@2024 2025@2025
march2024 june2024 august2024 monday123 sunday123 friday123
demo1234 demo12345 sample123 example1 qwertyuiop1 1234567a 12345678a 123456789q
1234567q 12345678q zxcvbnm, a11111111 aa11111111 a00000000 a88888888 123456789.
""".split())

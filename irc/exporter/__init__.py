"""The export layer: the plan of named graphs an export produces and the one flow that runs it
(plan -> passes -> backend check -> lower -> validate -> publish), with the artifact folder's
staging and manifest.

It is `irc.exporter`, not `irc.export`: importing a subpackage sets it as an attribute of its
parent, and `irc.export` is the public function.
"""

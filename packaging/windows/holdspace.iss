; Inno Setup script: Holdspace-VERSION-setup.exe from the PyInstaller folder dist\holdspace.
; NOT built or tested on the Linux machine the project is developed on; see README
; "Windows and macOS". On a Windows 10/11 x64 machine with Python 3.11, VLC 3.0 (64-bit)
; installed in C:\Program Files\VideoLAN\VLC, and Inno Setup 6:
;
;   py -3.11 -m venv build-venv
;   build-venv\Scripts\pip install --require-hashes --no-deps -r requirements.lock
;   build-venv\Scripts\pyinstaller --noconfirm --distpath dist packaging\holdspace.spec
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 packaging\windows\holdspace.iss
;   dist\holdspace\holdspace.exe --self-test
;
; The installer puts the folder in Program Files, a Start-menu entry (and an optional desktop
; icon), and an uninstaller. Clinic data stays in the user's AppData (platformdirs) unless a
; file named "portable" is put beside holdspace.exe (then data\ and config\ beside it).

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{6F0B1C52-7C3E-4C2B-9D54-0D6C1A5B7E21}
AppName=Holdspace
AppVersion={#AppVersion}
AppPublisher=Holdspace
DefaultDirName={autopf}\Holdspace
DefaultGroupName=Holdspace
DisableProgramGroupPage=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequiredOverridesAllowed=dialog
OutputDir=..\..\dist
OutputBaseFilename=Holdspace-{#AppVersion}-setup
SetupIconFile=holdspace.ico
UninstallDisplayIcon={app}\holdspace.exe
Compression=lzma2/max
SolidCompression=yes
LicenseFile=..\LICENSES.md

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\dist\holdspace\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Holdspace"; Filename: "{app}\holdspace.exe"; Parameters: "--fullscreen"
Name: "{group}\Holdspace self-test"; Filename: "{app}\holdspace.exe"; Parameters: "--self-test"
Name: "{autodesktop}\Holdspace"; Filename: "{app}\holdspace.exe"; Parameters: "--fullscreen"; Tasks: desktopicon

[Run]
Filename: "{app}\holdspace.exe"; Parameters: "--self-test"; Flags: runhidden waituntilterminated; StatusMsg: "Checking the installation…"

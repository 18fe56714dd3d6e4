; Inno Setup 6 script: dist\aiwebcam\ (the PyInstaller bundle) -> dist\aiwebcam-<version>-setup.exe
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" packaging\windows\aiwebcam.iss
; Not yet run (see packaging/README.md). Per-user or per-machine install, Start-menu and
; optional desktop shortcuts, uninstaller that removes the program folder (user data in
; %LOCALAPPDATA%\aiwebcam stays, as on Linux).

#define AppName "AI Webcam"
#define AppVersion "0.1.0"
#define AppExe "aiwebcam.exe"

[Setup]
AppId={{6F1D3C52-5B7A-4E8B-9C1E-2A4B7D0E9F31}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=AI Webcam developers
DefaultDirName={autopf}\AI Webcam
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
LicenseFile=
OutputDir=..\..\dist
OutputBaseFilename=aiwebcam-{#AppVersion}-setup
SetupIconFile=aiwebcam.ico
UninstallDisplayIcon={app}\{#AppExe}
; The models do not compress; fast settings keep the build short.
Compression=lzma2/fast
SolidCompression=no
DiskSpanning=no
WizardStyle=modern

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\dist\aiwebcam\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"; IconFilename: "{app}\{#AppExe}"; Flags: runminimized
Name: "{group}\{#AppName} self-test"; Filename: "{cmd}"; Parameters: "/k ""{app}\{#AppExe}"" --self-test"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon; Flags: runminimized

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent runminimized

[UninstallDelete]
; Nothing outside {app} is written by the installer; Python never writes into the bundle.
Type: dirifempty; Name: "{app}"
